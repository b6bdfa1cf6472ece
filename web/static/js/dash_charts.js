// dash_charts.js: shared by the dashboard pages. Draws each section's table
// (always, for screen readers and small screens) and its ECharts chart
// (vendored, see web/static/vendor/echarts/README.md), with text set through
// textContent only.
import '../vendor/echarts/echarts.min.js';
import { api, el } from './api.js';
import { translator } from './i18n.js';

const echarts = globalThis.echarts;

// messages returns a translator over the page's dash.* messages (i18n.js).
export const messages = () => translator('dash-msgs');

export function showError(err) {
  const box = document.querySelector('.form-error');
  if (!box) return;
  box.textContent = err.message;
  box.hidden = false;
}

// cellText shows a cell: percentages (t.percent columns) with their sign,
// withheld numbers as a dash.
const cellText = (t, v, col) => (v === null ? '–' : (t.percent || []).includes(col) && typeof v === 'number' ? `${v}%` : String(v));

// suppressedNote says which groups a chart leaves out because they have
// fewer than 5 participants (t.suppressed rows), "" when none.
export function suppressedNote(t) {
  const rows = t.suppressed || [];
  if (!rows.length) return '';
  return messages()('organize.dash_suppressed_note', { n: rows.length, names: rows.map((i) => String(t.rows[i][0])).join(messages()('organize.dash_name_sep')) });
}

// renderTable replaces the section's table with t ({columns, rows,
// percent, suppressed}).
export function renderTable(wrap, t, extra) {
  const head = el('tr', {}, ...t.columns.map((c) => el('th', { scope: 'col', text: c })));
  if (extra) head.append(el('th', { scope: 'col', text: extra.title }));
  const body = el('tbody');
  t.rows.forEach((r, i) => {
    const tr = el('tr', {}, ...r.map((v, j) => el('td', { text: cellText(t, v, j) })));
    if ((t.suppressed || []).includes(i)) tr.title = messages()('organize.dash_suppressed_row');
    if (extra) tr.append(el('td', {}, extra.cell(i)));
    body.append(tr);
  });
  wrap.replaceChildren(el('table', {}, el('thead', {}, head), body));
}

const big = () => window.matchMedia('(min-width: 900px)').matches;

// chartOption builds the chart of a table: the first column on the
// category axis, the listed columns (comparable units) as series.
// Groups withheld for their size (t.suppressed) are left out and named
// under the chart (suppressedNote). A value axis whose values are all
// whole numbers has whole-number ticks; one of percentages shows 0–100 %.
export function chartOption(kind, t, cols) {
  const hidden = new Set(t.suppressed || []);
  const rows = t.rows.filter((_, i) => !hidden.has(i));
  const labels = rows.map((r) => String(r[0]));
  const plotted = cols.filter((c) => c > 0 && c < t.columns.length);
  const series = plotted.map((c) => ({
    name: t.columns[c], type: kind, data: rows.map((r) => (typeof r[c] === 'number' ? r[c] : null)),
  }));
  const whole = series.every((s) => s.data.every((v) => v === null || Number.isInteger(v)));
  const percent = plotted.length > 0 && plotted.every((c) => (t.percent || []).includes(c));
  if (t.name.startsWith('timeline') && series.length) {
    const flag = t.columns.length - 1;
    const inside = rows.map((r, i) => (r[flag] ? i : -1)).filter((i) => i >= 0);
    if (inside.length) {
      series[0].markArea = { itemStyle: { color: 'rgba(46, 125, 50, 0.10)' },
        data: [[{ xAxis: labels[inside[0]] }, { xAxis: labels[inside[inside.length - 1]] }]] };
    }
  }
  const font = big() ? 16 : 12;
  const horizontal = kind === 'bar' && !t.name.startsWith('timeline') && t.name !== 'scores' && labels.length > 6;
  const cat = { type: 'category', data: labels, axisLabel: { fontSize: font } };
  const val = { type: 'value', axisLabel: { fontSize: font, formatter: percent ? '{value}%' : undefined },
    minInterval: whole ? 1 : undefined, max: percent ? 100 : undefined };
  return {
    aria: { enabled: true },
    textStyle: { fontSize: font },
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: { fontSize: font } },
    grid: { left: horizontal ? 120 : 50, right: 20, top: big() || series.length < 3 ? 40 : 64, bottom: 40, containLabel: true },
    xAxis: horizontal ? val : cat,
    yAxis: horizontal ? { ...cat, inverse: true } : val,
    dataZoom: labels.length > 48 ? [{ type: 'slider', bottom: 0 }] : undefined,
    series,
  };
}

const charts = [];
window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

export function drawChart(node, kind, t, cols) {
  if (!node || !kind || !echarts) return;
  const chart = echarts.getInstanceByDom(node) || echarts.init(node, null, { renderer: 'svg' });
  if (!charts.includes(chart)) charts.push(chart);
  chart.setOption(chartOption(kind, t, cols), true);
  node.dataset.drawn = String(t.rows.length - (t.suppressed || []).length);
  const note = suppressedNote(t);
  let p = node.nextElementSibling?.matches('[data-suppressed]') ? node.nextElementSibling : null;
  if (!note) { p?.remove(); return; }
  if (!p) { p = el('p', { class: 'muted small-note', 'data-suppressed': '', 'data-testid': 'suppressed-note' }); node.after(p); }
  p.textContent = note;
}

// loadSections fills every [data-view] section from base + '/views/' + name.
export async function loadSections(base, custom = {}) {
  for (const sec of document.querySelectorAll('[data-view]')) {
    const name = sec.dataset.view;
    try {
      if (custom[name]) { await custom[name](sec); continue; }
      const t = await api('GET', `${base}/views/${name}`);
      renderTable(sec.querySelector('[data-table]'), t);
      drawChart(sec.querySelector('.chart'), sec.dataset.chart, t, (sec.dataset.series || '').split(',').map(Number));
    } catch (err) {
      sec.querySelector('[data-table]').replaceChildren(el('p', { class: 'muted', text: err.message }));
    }
  }
}
