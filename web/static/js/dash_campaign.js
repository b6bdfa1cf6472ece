// dash_campaign.js: the campaign dashboard. Loads every section, renders the
// item analysis with its retire buttons, and keeps the headline numbers
// live over /ws/dash/:id (reconnecting with backoff).
import { api, el } from './api.js';
import { messages, showError, renderTable, loadSections } from './dash_charts.js';
import { backoff } from './reconnect.js';

const root = document.querySelector('[data-campaign]');
const id = root.dataset.campaign;
const base = `/api/v1/dash/campaigns/${id}`;
const t = messages();

// irtCell: the latest calibration of an item beside the classical figures —
// "a / b" and what it says (fit, flags) — or "not calibrated yet".
function irtCell(it) {
  const p = it.irt;
  if (!p) return t('calibrate.none');
  const said = p.flags.length ? p.flags.map((f) => t(`calibrate.flag.${f}`)).join('；') : t('calibrate.fits');
  return `${p.a.toFixed(2)} / ${p.b.toFixed(2)} · ${said}`;
}

// suggestion: the retire suggestion of a calibrated item with its link to
// the question in the bank.
function suggestion(it) {
  return el('span', { class: 'irt-suggest', 'data-testid': `irt-retire-${it.question_id}` },
    el('span', { class: 'badge bad', text: t('calibrate.suggest_retire') }), ' ',
    el('a', { href: `/bank/${it.question_id}`, text: t('calibrate.open_question') }));
}

const fmt = {
  completion_rate: (v) => `${(v * 100).toFixed(1)}%`,
  pass_rate: (v) => `${(v * 100).toFixed(1)}%`,
  avg_score: (v) => v.toFixed(1),
  answers_per_minute: (v) => v.toFixed(1),
};

function showHeadline(h) {
  for (const dd of document.querySelectorAll('[data-kpi]')) {
    const k = dd.dataset.kpi;
    if (h[k] === undefined) continue;
    dd.textContent = fmt[k] ? fmt[k](h[k]) : String(h[k]);
  }
}

async function items(sec) {
  const { items: list } = await api('GET', `${base}/items`);
  const table = {
    columns: [t('dash.col.question'), t('dash.col.stem'), t('dash.col.answers'), t('dash.col.facility'),
      t('dash.col.point_biserial'), t('dash.col.upper_lower'), t('dash.col.avg_seconds'), t('dash.col.options'), t('dash.col.flags'),
      t('calibrate.col.irt')],
    percent: [3],
    rows: list.map((it) => [it.question_id, it.stem, it.answers, Math.round(it.facility * 1000) / 10,
      it.point_biserial === null ? null : it.point_biserial.toFixed(2),
      it.upper_lower === null ? null : it.upper_lower.toFixed(2), it.avg_seconds.toFixed(1),
      it.option_counts.map((n, i) => `${String.fromCharCode(65 + i)}${it.answer.includes(i) ? '✓' : ''}:${n}`).join(' '),
      it.flags.map((f) => t(`dash.flag.${f}`)).join('；'), irtCell(it)]),
  };
  renderTable(sec.querySelector('[data-table]'), table, {
    title: t('dash.col.action'),
    cell: (i) => {
      const it = list[i];
      if (it.status === 'retired') return el('span', { class: 'badge', text: t('dash.retired') });
      const suggest = it.irt && it.irt.retire;
      if (!it.retirable || !(it.flags.length || suggest)) return suggest ? suggestion(it) : '';
      const b = el('button', { type: 'button', class: 'small danger', 'data-testid': `retire-${it.question_id}`,
        text: t('dash.retire') });
      b.addEventListener('click', async () => {
        if (!window.confirm(t('dash.retire_confirm'))) return;
        b.disabled = true;
        try {
          await api('POST', `${base}/items/${it.question_id}/retire`);
          b.parentNode.replaceChildren(el('span', { class: 'badge', text: t('dash.retired') }));
        } catch (err) { showError(err); b.disabled = false; }
      });
      return suggest ? el('span', {}, suggestion(it), ' ', b) : b;
    },
  });
  const wrap = sec.querySelector('[data-table]');
  wrap.before(el('p', { class: 'muted small-note', 'data-testid': 'irt-explain', text: t('calibrate.explain') }));
  for (const tr of sec.querySelectorAll('tbody tr')) {
    const i = [...tr.parentNode.children].indexOf(tr);
    if (list[i].flags.length || (list[i].irt && list[i].irt.retire)) tr.classList.add('flagged');
  }
}

function live() {
  const status = document.querySelector('[data-live-status]');
  const retry = backoff({ base: 1000, max: 30000 });
  const connect = () => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/dash/${id}`);
    ws.addEventListener('open', () => { status.textContent = t('dash.live_on'); retry.reset(); });
    ws.addEventListener('message', (e) => {
      try {
        const m = JSON.parse(e.data);
        if (m.type === 'headline') showHeadline(m.headline);
      } catch { /* ignore malformed */ }
    });
    ws.addEventListener('close', () => {
      status.textContent = t('dash.live_off');
      retry.retry(connect);
    });
  };
  connect();
}

(async () => {
  try {
    const s = await api('GET', base);
    showHeadline(s.headline);
  } catch (err) { showError(err); }
  live();
  await loadSections(base, { items });
})();
