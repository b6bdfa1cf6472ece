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
      t('dash.col.point_biserial'), t('dash.col.upper_lower'), t('dash.col.avg_seconds'), t('dash.col.options'), t('dash.col.flags')],
    percent: [3],
    rows: list.map((it) => [it.question_id, it.stem, it.answers, Math.round(it.facility * 1000) / 10,
      it.point_biserial === null ? null : it.point_biserial.toFixed(2),
      it.upper_lower === null ? null : it.upper_lower.toFixed(2), it.avg_seconds.toFixed(1),
      it.option_counts.map((n, i) => `${String.fromCharCode(65 + i)}${it.answer.includes(i) ? '✓' : ''}:${n}`).join(' '),
      it.flags.map((f) => t(`dash.flag.${f}`)).join('；')]),
  };
  renderTable(sec.querySelector('[data-table]'), table, {
    title: t('dash.col.action'),
    cell: (i) => {
      const it = list[i];
      if (it.status === 'retired') return el('span', { class: 'badge', text: t('dash.retired') });
      if (!it.retirable || !it.flags.length) return '';
      const b = el('button', { type: 'button', class: 'small danger', 'data-testid': `retire-${it.question_id}`,
        text: t('dash.retire') });
      b.addEventListener('click', async () => {
        if (!window.confirm(t('dash.retire_confirm'))) return;
        b.disabled = true;
        try {
          await api('POST', `${base}/items/${it.question_id}/retire`);
          b.replaceWith(el('span', { class: 'badge', text: t('dash.retired') }));
        } catch (err) { showError(err); b.disabled = false; }
      });
      return b;
    },
  });
  for (const tr of sec.querySelectorAll('tbody tr')) {
    const i = [...tr.parentNode.children].indexOf(tr);
    if (list[i].flags.length) tr.classList.add('flagged');
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
