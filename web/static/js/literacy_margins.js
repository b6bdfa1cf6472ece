// literacy_margins.js: checks or uploads a population margins CSV
// (POST /api/v1/literacy/margins) and lists every problem by row.
import { el } from './api.js';
import { translator } from './i18n.js';

const t = translator('lit-msgs', 'literacy.js_');
const form = document.getElementById('lit-upload');
const errBox = form.querySelector('.form-error');
const okBox = form.querySelector('.form-ok');
const list = form.querySelector('.lit-problems');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const save = ev.submitter?.value === 'save';
  errBox.hidden = okBox.hidden = list.hidden = true;
  list.replaceChildren();
  const file = document.getElementById('lit-file').files[0];
  if (!file) {
    errBox.textContent = t('no_file');
    errBox.hidden = false;
    return;
  }
  const params = new URLSearchParams({ source: document.getElementById('lit-source').value });
  if (!save) params.set('dry_run', '1');
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  try {
    const res = await fetch('/api/v1/literacy/margins?' + params, {
      method: 'POST', body: file, credentials: 'same-origin',
      headers: { 'Content-Type': 'text/csv', 'Accept': 'application/json',
        'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]')?.content || '' },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      errBox.textContent = body?.error?.message || `HTTP ${res.status}`;
      errBox.hidden = false;
      for (const p of body?.problems || []) {
        list.append(el('li', { 'data-row': p.row, text: p.message }));
      }
      list.hidden = !list.children.length;
      return;
    }
    okBox.textContent = save ? t('saved', { rows: body.rows }) : t('checked', { rows: body.rows });
    okBox.hidden = false;
    if (save) setTimeout(() => window.location.reload(), 1200);
  } catch (err) {
    errBox.textContent = t('network');
    errBox.hidden = false;
  } finally {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
  }
});
