// bank_edit.js: the question editor. The preview shows the question as a
// participant will see it and updates as you type; saving makes a new
// version (old versions stay in the history).
import { bjLabel } from './time.js';
import { api, el } from './api.js';
import { messages, letter, renderQuestion } from './bank_common.js';

const t = messages();
const $ = (id) => document.getElementById(id);
const form = $('question-form');
const errBox = form.querySelector('.form-error');
const okBox = form.querySelector('.form-ok');
let question = JSON.parse($('bank-question').textContent || 'null');
let imageID = question?.image_id || 0;
const maxOptions = 6;
const minOptions = 2;

function show(box, msg) { box.textContent = msg; box.hidden = !msg; }

function optionRows() { return [...$('options').children]; }

function addOption(text = '', correct = false) {
  const i = optionRows().length;
  if (i >= maxOptions) return;
  const input = el('input', { type: 'text', maxlength: '200', 'data-option': '', 'aria-label': t('option_n', { letter: letter(i) }) });
  input.value = text;
  const mark = el('input', { type: 'checkbox', 'data-correct': '' });
  mark.checked = correct;
  mark.addEventListener('change', () => {
    if (mark.checked && $('type').value !== 'multiple') {
      for (const m of $('options').querySelectorAll('[data-correct]')) if (m !== mark) m.checked = false;
    }
    preview();
  });
  const remove = el('button', { type: 'button', class: 'small secondary', 'data-remove': '' }, '×');
  remove.addEventListener('click', () => { li.remove(); relabel(); preview(); });
  const li = el('li', {}, el('span', { class: 'letter', text: letter(i) }), input,
    el('label', { class: 'check' }, mark, t('correct')), remove);
  $('options').append(li);
  relabel();
}

// relabel keeps letters and labels in order after adding or removing, and
// locks the options of a true/false question.
function relabel() {
  const tf = $('type').value === 'truefalse';
  const rows = optionRows();
  rows.forEach((li, i) => {
    li.querySelector('.letter').textContent = letter(i);
    li.querySelector('[data-option]').setAttribute('aria-label', t('option_n', { letter: letter(i) }));
    li.querySelector('[data-option]').readOnly = tf;
    const rm = li.querySelector('[data-remove]');
    rm.setAttribute('aria-label', t('remove_option', { letter: letter(i) }));
    rm.hidden = tf || rows.length <= minOptions;
  });
  $('add-option').hidden = tf || rows.length >= maxOptions;
}

function setTrueFalse() {
  const lang = $('lang').value;
  const words = [t('true'), t('false')];
  if (lang === 'en') { words[0] = 'True'; words[1] = 'False'; }
  if (lang === 'zh-CN') { words[0] = '正确'; words[1] = '错误'; }
  const correct = optionRows().findIndex((li) => li.querySelector('[data-correct]').checked);
  $('options').replaceChildren();
  addOption(words[0], correct === 0);
  addOption(words[1], correct === 1);
}

function current() {
  const rows = optionRows();
  return {
    lang: $('lang').value,
    translation_of: $('lang').value === 'en' ? (parseInt($('translation_of').value, 10) || 0) : 0,
    type: $('type').value,
    stem: $('stem').value,
    options: rows.map((li) => li.querySelector('[data-option]').value),
    answer: rows.map((li, i) => (li.querySelector('[data-correct]').checked ? i : -1)).filter((i) => i >= 0),
    explanation: $('explanation').value,
    category: $('category').value,
    dimension: $('dimension').value,
    difficulty: parseInt($('difficulty').value, 10),
    tags: $('tags').value.split(/[,，、;；|]/).map((s) => s.trim()).filter(Boolean),
    source: $('source').value,
    image_id: imageID,
    private: $('private').checked,
  };
}

function preview() {
  const q = current();
  q.image_url = imageID ? '/api/v1/bank/images/' + imageID : '';
  $('preview').replaceChildren(renderQuestion(t, q));
  $('translation-box').hidden = $('lang').value !== 'en';
  $('image-remove').hidden = !imageID || form.querySelector('fieldset').disabled;
}

function fill(q) {
  $('lang').value = q.lang;
  $('translation_of').value = q.translation_of || '';
  $('type').value = q.type;
  $('stem').value = q.stem;
  $('options').replaceChildren();
  q.options.forEach((o, i) => addOption(o, q.answer.includes(i)));
  $('explanation').value = q.explanation;
  $('category').value = q.category;
  $('dimension').value = q.dimension;
  $('difficulty').value = String(q.difficulty);
  $('tags').value = (q.tags || []).join(', ');
  $('source').value = q.source;
  $('private').checked = !!q.private;
  imageID = q.image_id || 0;
}

async function save(publish) {
  show(errBox, ''); show(okBox, '');
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  try {
    const body = current();
    const q = question
      ? await api('PUT', '/api/v1/bank/questions/' + question.id, body)
      : await api('POST', '/api/v1/bank/questions', body);
    if (publish && q.status !== 'published') await api('POST', '/api/v1/bank/questions/status', { ids: [q.id], status: 'published' });
    if (!question || publish) { location.href = '/bank/' + q.id; return; }
    question = q;
    show(okBox, t('saved', { version: q.version }));
    loadHistory();
  } catch (e) {
    show(errBox, e.message);
    const f = e.field && (form.querySelector(`[name="${CSS.escape(e.field)}"]`) || (e.field === 'options' || e.field === 'answer' ? form.querySelector('[data-option]') : null));
    if (f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
  }
}

async function loadHistory() {
  if (!question || !$('history')) return;
  try {
    const r = await api('GET', `/api/v1/bank/questions/${question.id}/versions`);
    $('history').replaceChildren(...r.versions.map((v) => el('li', { 'data-version': v.version },
      el('details', {},
        el('summary', {}, `${t('version_n', { n: v.version })}${v.version === question.version ? ' · ' + t('history_current') : ''} · ${bjLabel(v.created_at)}`),
        renderQuestion(t, { ...v, image_url: v.image_id ? '/api/v1/bank/images/' + v.image_id : '' })))));
    if (!r.versions.length) $('history').append(el('li', { class: 'muted', text: t('history_none') }));
  } catch (e) { show(errBox, e.message); }
}

async function uploadImage(file) {
  show(errBox, '');
  try {
    const res = await fetch('/api/v1/bank/images', {
      method: 'POST', body: file, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream', 'Accept': 'application/json',
        'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]')?.content || '' },
    });
    const data = await res.json();
    if (!res.ok) throw new Error(data?.error?.message || res.status);
    imageID = data.id;
    show(okBox, t('image_uploaded'));
    preview();
  } catch (e) { show(errBox, e.message); $('image').value = ''; }
}

if (question) fill(question);
else { addOption(); addOption(); addOption(); }
relabel();
preview();
loadHistory();

form.addEventListener('input', preview);
form.addEventListener('change', preview);
$('type').addEventListener('change', () => {
  if ($('type').value === 'truefalse') setTrueFalse();
  else if ($('type').value === 'single') {
    let seen = false;
    for (const m of $('options').querySelectorAll('[data-correct]')) { if (m.checked && seen) m.checked = false; seen ||= m.checked; }
  }
  relabel(); preview();
});
$('lang').addEventListener('change', () => { if ($('type').value === 'truefalse') setTrueFalse(); preview(); });
$('add-option').addEventListener('click', () => { addOption(); preview(); optionRows().at(-1).querySelector('input').focus(); });
$('image').addEventListener('change', () => { if ($('image').files[0]) uploadImage($('image').files[0]); });
$('image-remove').addEventListener('click', () => { imageID = 0; $('image').value = ''; preview(); });
form.addEventListener('submit', (ev) => { ev.preventDefault(); save(false); });
$('save-publish')?.addEventListener('click', () => save(true));
for (const b of document.querySelectorAll('[data-status]')) {
  b.addEventListener('click', async () => {
    if (b.dataset.status === 'retired' && !window.confirm(t('confirm_retire'))) return;
    try {
      await api('POST', '/api/v1/bank/questions/status', { ids: [question.id], status: b.dataset.status });
      location.reload();
    } catch (e) { show(errBox, e.message); }
  });
}
