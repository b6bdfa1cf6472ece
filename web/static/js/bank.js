// bank.js: the question list — filters, paging, and (for organizers and
// admins) publishing or retiring the selected questions.
import { api, el } from './api.js';
import { messages } from './bank_common.js';

const t = messages();
const $ = (id) => document.getElementById(id);
const canEdit = JSON.parse($('bank-edit').textContent);
const form = $('bank-filters');
const errBox = document.querySelector('.form-error');
const limit = 50;
let offset = 0;
let total = 0;
const selected = new Set();

function showError(msg) { errBox.textContent = msg; errBox.hidden = !msg; }

function filters() {
  const p = new URLSearchParams();
  for (const e of form.elements) if (e.name && e.value) p.set(e.name, e.value);
  return p;
}

function updateSelected() {
  if (!canEdit) return;
  $('bank-selected').textContent = t('selected_n', { n: selected.size });
  for (const b of document.querySelectorAll('[data-bulk]')) b.disabled = selected.size === 0;
}

function row(q) {
  const cells = [];
  if (canEdit) {
    const box = el('input', { type: 'checkbox', 'aria-label': t('select', { id: q.id }), 'data-id': q.id });
    box.checked = selected.has(q.id);
    box.addEventListener('change', () => { box.checked ? selected.add(q.id) : selected.delete(q.id); updateSelected(); });
    cells.push(el('td', {}, box));
  }
  cells.push(el('td', { text: q.id }),
    el('td', {}, el('a', { href: '/bank/' + q.id, text: q.stem })),
    el('td', { text: t('type.' + q.type) }),
    el('td', { text: t('category.' + q.category) }),
    el('td', { text: q.difficulty }),
    el('td', { text: t('lang.' + q.lang) }),
    el('td', {}, el('span', { class: 'badge' + (q.status === 'retired' ? ' bad' : q.status === 'published' ? ' ok' : ''), text: t('status.' + q.status) }),
      q.private ? el('span', { class: 'badge', 'data-testid': 'private-' + q.id, text: t('private_badge') }) : null),
    el('td', { text: q.version }));
  return el('tr', { 'data-question': q.id }, ...cells);
}

async function load() {
  showError('');
  const p = filters();
  p.set('limit', limit); p.set('offset', offset);
  try {
    const r = await api('GET', '/api/v1/bank/questions?' + p);
    total = r.total;
    $('bank-rows').replaceChildren(...r.questions.map(row));
    if (!r.questions.length) $('bank-rows').append(el('tr', {}, el('td', { colspan: canEdit ? 9 : 8, text: t('none') })));
    const pages = Math.max(1, Math.ceil(total / limit));
    $('page').textContent = t('page', { page: Math.floor(offset / limit) + 1, pages });
    $('bank-status').textContent = t('total_n', { n: total });
    $('prev').disabled = offset === 0;
    $('next').disabled = offset + limit >= total;
    for (const a of document.querySelectorAll('[data-export]')) {
      const e = filters(); e.set('format', a.dataset.export);
      a.href = '/api/v1/bank/export?' + e;
    }
    updateSelected();
  } catch (e) { showError(e.message); }
}

form.addEventListener('submit', (ev) => { ev.preventDefault(); offset = 0; load(); });
for (const e of form.querySelectorAll('select')) e.addEventListener('change', () => { offset = 0; load(); });
$('prev').addEventListener('click', () => { offset = Math.max(0, offset - limit); load(); });
$('next').addEventListener('click', () => { offset += limit; load(); });

if (canEdit) {
  $('select-all').addEventListener('change', (ev) => {
    for (const b of document.querySelectorAll('#bank-rows input[type=checkbox]')) {
      b.checked = ev.target.checked;
      const id = Number(b.dataset.id);
      b.checked ? selected.add(id) : selected.delete(id);
    }
    updateSelected();
  });
  for (const b of document.querySelectorAll('[data-bulk]')) {
    b.addEventListener('click', async () => {
      if (b.dataset.bulk === 'retired' && !window.confirm(t('confirm_retire'))) return;
      try {
        const r = await api('POST', '/api/v1/bank/questions/status', { ids: [...selected], status: b.dataset.bulk });
        selected.clear();
        $('select-all').checked = false;
        await load();
        $('bank-status').textContent = t('changed_n', { n: r.changed });
      } catch (e) { showError(e.message); }
    });
  }
}
load();
