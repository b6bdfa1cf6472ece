// bank_import.js: upload a question file, show the server's report (every
// bad row with its row number, column and reason), then import in the mode
// chosen. A check (dry run) always comes first. Warnings (test-wiseness
// cues: the key is the longest option, near-duplicate questions …) are
// listed apart: they never stop a row from being imported.
import { el } from './api.js';
import { messages } from './bank_common.js';
import { translator } from './i18n.js';

const t = messages();
const tc = translator('bankcue-msgs', 'bankcue.');
const $ = (id) => document.getElementById(id);
const form = $('import-form');
const errBox = form.querySelector('.form-error');
const doImport = $('do-import');

function show(msg) { errBox.textContent = msg; errBox.hidden = !msg; }
function mode() { return form.querySelector('input[name=mode]:checked').value; }

async function send(dryRun) {
  const file = $('file').files[0];
  if (!file) { show(t('choose_file')); $('file').focus(); return null; }
  const params = new URLSearchParams({ name: file.name, mode: mode(), dry_run: dryRun ? '1' : '0' });
  const res = await fetch('/api/v1/bank/import?' + params, {
    method: 'POST', body: file, credentials: 'same-origin',
    headers: { 'Content-Type': 'application/octet-stream', 'Accept': 'application/json',
      'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]')?.content || '' },
  });
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new Error(data?.error?.message || `HTTP ${res.status}`);
  return data;
}

// table lists report lines (problems or warnings) by row, column, reason.
function table(lines, testid) {
  return el('div', { class: 'table-wrap' }, el('table', { class: 'bank-report', 'data-testid': testid },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('report_row') }), el('th', { scope: 'col', text: t('report_column') }),
      el('th', { scope: 'col', text: t('report_reason') }))),
    el('tbody', {}, ...lines.map((p) => el('tr', { 'data-row': p.row },
      el('td', { text: p.row > 0 ? p.row : tc('file') }), el('td', { text: p.column }), el('td', { text: p.message }))))));
}

function report(r) {
  const bad = new Set(r.problems.map((p) => p.row)).size;
  const out = [el('p', { 'data-testid': 'report-summary', text: t('report_summary', { total: r.total, valid: r.valid, bad }) })];
  if (r.dry_run) out.push(el('p', { class: 'muted', text: t('report_dry') }));
  else if (r.imported > 0 || r.valid === r.total) out.push(el('p', { class: 'form-ok', 'data-testid': 'report-imported', text: t('report_imported', { n: r.imported }) }));
  else out.push(el('p', { class: 'form-error', text: t('report_refused') }));
  if (r.problems.length === 0) out.push(el('p', { text: t('report_none') }));
  else out.push(table(r.problems, 'report-problems'));
  const warnings = r.warnings || [];
  if (warnings.length > 0) {
    out.push(el('h3', { text: tc('warnings_title') }), el('p', { class: 'muted', text: tc('warnings_intro') }),
      table(warnings, 'report-warnings'));
  }
  $('report').replaceChildren(...out);
}

async function run(btn, dryRun) {
  show('');
  const label = btn.textContent;
  btn.disabled = true;
  btn.textContent = btn.dataset.working;
  try {
    const r = await send(dryRun);
    if (r) {
      report(r);
      doImport.disabled = !dryRun || r.valid === 0 || (mode() === 'all' && r.valid < r.total);
    }
  } catch (e) {
    show(e.message);
  } finally {
    btn.textContent = label;
    if (dryRun) btn.disabled = false;
  }
}

form.addEventListener('submit', (ev) => { ev.preventDefault(); run(form.querySelector('button[type=submit]'), true); });
doImport.addEventListener('click', () => run(doImport, false));
$('file').addEventListener('change', () => { doImport.disabled = true; $('report').replaceChildren(); });
for (const r of form.querySelectorAll('input[name=mode]')) r.addEventListener('change', () => { doImport.disabled = true; });
