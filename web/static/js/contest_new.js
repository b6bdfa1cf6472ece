// contest_new.js: create a contest from bank questions, picked by hand or
// drawn at random, with its options; or edit a saved one (its questions
// reordered with the up/down buttons). The bank picker previews each
// question (type, options, answer) before it is added.
import { api, el } from './api.js';
import { messages, SHAPES } from './contest_live.js';
import { translator } from './i18n.js';

const t = messages();
const tp = translator('present-msgs', 'present.');
const $ = (id) => document.getElementById(id);
const form = $('new-contest');
const errBox = form.querySelector('.form-error');
const picked = []; // {id, stem, practice}, in the contest's order
const editing = form.dataset.edit;
const has = (id) => picked.some(q => q.id === id);

function source() { return form.querySelector('input[name=source]:checked').value; }
for (const r of form.querySelectorAll('input[name=source]')) {
  r.addEventListener('change', () => { $('pick').hidden = source() !== 'pick'; $('draw').hidden = source() !== 'draw'; });
}
// The classes are the teams (team mode) and the roster (roster only).
const showClasses = () => { $('teams').hidden = !$('team_mode').checked && !$('roster_only').checked; };
$('team_mode').addEventListener('change', showClasses);
$('roster_only').addEventListener('change', showClasses);

function move(i, by) {
  const j = i + by;
  if (j < 0 || j >= picked.length) return;
  [picked[i], picked[j]] = [picked[j], picked[i]];
  renderPicked();
  // Keep the focus on the button pressed, now on the moved line.
  $('picked').children[j]?.querySelector(by < 0 ? '[data-move=up]' : '[data-move=down]')?.focus();
}

function renderPicked() {
  $('picked-count').textContent = t('picked', { n: picked.length });
  $('picked').replaceChildren(...picked.map((q, i) => {
    const practice = el('input', { type: 'checkbox' });
    practice.checked = q.practice;
    practice.addEventListener('change', () => { q.practice = practice.checked; });
    return el('li', { 'data-testid': 'picked-question' }, el('span', { text: q.stem }),
      el('span', { class: 'q-moves' },
        el('button', { type: 'button', class: 'small secondary', 'data-move': 'up', 'aria-label': tp('move_up_n', { n: i + 1 }), title: tp('move_up'), disabled: i === 0, onclick: () => move(i, -1) }, '↑'),
        el('button', { type: 'button', class: 'small secondary', 'data-move': 'down', 'aria-label': tp('move_down_n', { n: i + 1 }), title: tp('move_down'), disabled: i === picked.length - 1, onclick: () => move(i, 1) }, '↓')),
      el('label', { class: 'check' }, practice, t('practice')),
      el('button', { type: 'button', class: 'small secondary', onclick: () => { picked.splice(i, 1); renderPicked(); search(); } }, t('remove')));
  }));
}

// preview is a bank question as players will see it, with its answer.
function preview(q) {
  const letters = (q.answer || []).map(i => `${SHAPES[i] ?? ''} ${q.options[i] ?? ''}`.trim());
  return el('div', { class: 'q-preview', 'data-testid': 'preview' },
    el('p', { text: `${tp('type_' + q.type)} · ${tp('difficulty_n', { n: q.difficulty })}` }),
    el('ol', {}, ...q.options.map((o, i) => el('li', { class: q.answer.includes(i) ? 'right' : '',
      text: `${SHAPES[i] ?? ''} ${o}` + (q.answer.includes(i) ? ' ✓' : '') }))),
    el('p', { class: 'right', text: tp('answer_is', { answer: letters.join('、') }) }),
    q.explanation ? el('p', { class: 'muted', text: q.explanation }) : null);
}

function bankItem(q) {
  const li = el('li', {});
  const box = el('div', { class: 'q-preview-box', hidden: true });
  const toggle = el('button', { type: 'button', class: 'small secondary', 'aria-expanded': 'false', 'data-testid': 'preview-question' }, tp('preview'));
  toggle.addEventListener('click', () => {
    const open = box.hidden;
    box.replaceChildren(...(open ? [preview(q)] : []));
    box.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? tp('hide_preview') : tp('preview');
  });
  const add = el('button', { type: 'button', class: 'small', 'data-testid': 'add-question', disabled: has(q.id),
    onclick: () => { if (!has(q.id)) picked.push({ id: q.id, stem: q.stem, practice: false }); add.disabled = true; add.textContent = tp('added'); renderPicked(); } },
  has(q.id) ? tp('added') : t('add'));
  li.append(el('span', { class: 'q-line' }, el('span', { text: q.stem }), el('span', { class: 'q-meta', text: tp('type_' + q.type) })), toggle, add, box);
  return li;
}

let searchTimer;
async function search() {
  const params = new URLSearchParams({ q: $('q').value, category: $('pick-category').value });
  try {
    const r = await api('GET', '/api/v1/contests/bank?' + params);
    $('bank').replaceChildren(...r.questions.map(bankItem));
  } catch (e) { errBox.textContent = e.message; errBox.hidden = false; }
}
$('q').addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 250); });
$('pick-category').addEventListener('change', search);
// Editing: the contest's title is in the page; its settings and questions
// are filled in here.
const saved = editing && JSON.parse($('contest-edit').textContent);
if (saved) {
  const st = saved.settings;
  $('time_limit').value = st.time_limit; $('points').value = st.points;
  for (const k of ['streak_bonus', 'show_text', 'auto_advance', 'late_join', 'team_mode', 'roster_only', 'get_ready']) $(k).checked = !!st[k];
  for (const x of form.querySelectorAll('input[name=class_ids]')) x.checked = (st.class_ids || []).includes(Number(x.value));
  showClasses();
  for (const q of saved.questions || []) picked.push({ id: q.question_id, stem: q.stem, practice: q.practice });
}
search();
renderPicked();

const num = (id) => parseInt($(id).value, 10) || 0;

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errBox.hidden = true;
  const body = {
    title: $('title').value,
    settings: {
      time_limit: num('time_limit'), points: num('points'),
      streak_bonus: $('streak_bonus').checked, show_text: $('show_text').checked,
      auto_advance: $('auto_advance').checked, late_join: $('late_join').checked,
      team_mode: $('team_mode').checked, roster_only: $('roster_only').checked, get_ready: $('get_ready').checked,
      class_ids: [...form.querySelectorAll('input[name=class_ids]:checked')].map(x => Number(x.value)),
    },
  };
  if (editing) {
    body.questions = picked.map(q => ({ question_id: q.id, practice: q.practice }));
  } else if (source() === 'draw') {
    body.draw = { category: $('category').value, dimension: $('dimension').value, difficulty: num('difficulty'), count: num('count') };
  } else {
    body.question_ids = picked.map(q => q.id);
    body.practice_ids = picked.filter(q => q.practice).map(q => q.id);
  }
  const btn = form.querySelector('button[type=submit]');
  const label = btn.textContent;
  btn.disabled = true; btn.textContent = btn.dataset.working;
  try {
    await (editing ? api('PUT', '/api/v1/contests/' + editing, body) : api('POST', '/api/v1/contests', body));
    location.href = '/contests';
  } catch (e) {
    errBox.textContent = e.message; errBox.hidden = false;
    const f = e.field && document.getElementById(e.field);
    if (f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
  } finally {
    btn.disabled = false; btn.textContent = label;
  }
});
