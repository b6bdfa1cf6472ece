// literacy_report.js: the charts of the five-year report (ECharts, vendored:
// web/static/vendor/echarts) and its print button. The same file, inlined
// without its import, draws the charts of the PDF (literacy_pdf.go), so it
// imports nothing else and reads everything from the page.
import '../vendor/echarts/echarts.min.js';

const echarts = globalThis.echarts;
const box = document.getElementById('lit-report-data');
const data = box ? JSON.parse(box.textContent) : null;
const big = () => window.matchMedia('(min-width: 900px)').matches || document.body.classList.contains('pdf');
const charts = [];

function draw(id, option) {
  const node = document.getElementById(id);
  if (!node || !echarts) return;
  const chart = echarts.init(node, null, { renderer: 'svg' });
  chart.setOption({ animation: false, aria: { enabled: true }, textStyle: { fontSize: big() ? 14 : 11 }, ...option });
  charts.push(chart);
}

// errorBars is a custom series drawing each point's 95% interval as a
// whisker; points are [category index, lo, hi] (or [lo, hi, index] when
// horizontal).
function errorBars(name, points, horizontal) {
  return {
    name, type: 'custom', silent: true, z: 5, data: points,
    renderItem(params, api) {
      const a = horizontal ? api.coord([api.value(0), api.value(2)]) : api.coord([api.value(0), api.value(1)]);
      const b = horizontal ? api.coord([api.value(1), api.value(2)]) : api.coord([api.value(0), api.value(2)]);
      const cap = 5;
      const style = { stroke: '#333', lineWidth: 1.5 };
      const line = (x1, y1, x2, y2) => ({ type: 'line', shape: { x1, y1, x2, y2 }, style });
      return { type: 'group', children: horizontal
        ? [line(a[0], a[1], b[0], b[1]), line(a[0], a[1] - cap, a[0], a[1] + cap), line(b[0], b[1] - cap, b[0], b[1] + cap)]
        : [line(a[0], a[1], b[0], b[1]), line(a[0] - cap, a[1], a[0] + cap, a[1]), line(b[0] - cap, b[1], b[0] + cap, b[1])] };
    },
  };
}

if (data) {
  const L = data.labels || {};
  const years = data.years.map(String);
  draw('lit-chart-participation', {
    tooltip: { trigger: 'axis' }, legend: { top: 0 },
    grid: { left: 10, right: 10, top: 36, bottom: 10, containLabel: true },
    xAxis: { type: 'category', data: years }, yAxis: { type: 'value' },
    series: [
      { name: L.attempts, type: 'bar', data: data.attempts, itemStyle: { color: '#1565c0' } },
      { name: L.participants, type: 'bar', data: data.participants, itemStyle: { color: '#2e7d32' } },
    ],
  });
  const trend = data.trend || [];
  draw('lit-chart-trend', {
    tooltip: { trigger: 'axis' }, legend: { top: 0 },
    grid: { left: 10, right: 10, top: 36, bottom: 10, containLabel: true },
    xAxis: { type: 'category', data: years },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    series: [
      { name: data.trend_label, type: 'line', connectNulls: true, symbolSize: 8, data: trend.map((p) => (p ? p.pct : null)),
        itemStyle: { color: '#c62828' }, label: { show: true, formatter: '{c}%' } },
      errorBars(L.interval, trend.map((p, i) => (p ? [i, p.lo, p.hi] : null)).filter(Boolean), false),
    ],
  });
  const ds = (data.districts || []).slice().reverse(); // the first district on top
  draw('lit-chart-districts', {
    tooltip: { trigger: 'item' },
    grid: { left: 10, right: 30, top: 10, bottom: 10, containLabel: true },
    yAxis: { type: 'category', data: ds.map((d) => d.name) },
    xAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    series: [
      { name: L.share, type: 'bar', data: ds.map((d) => d.pct), itemStyle: { color: '#90caf9' },
        label: { show: true, position: 'insideLeft', formatter: '{c}%' } },
      errorBars(L.interval, ds.map((d, i) => [d.lo, d.hi, i]), true),
    ],
  });
  const resize = () => charts.forEach((c) => c.resize());
  window.addEventListener('resize', resize);
  window.addEventListener('beforeprint', resize);
  window.addEventListener('afterprint', resize);
  // Fires once the print styles apply, so the charts take the printed size.
  window.matchMedia('print').addEventListener('change', resize);
}

for (const b of document.querySelectorAll('[data-print]')) b.addEventListener('click', () => window.print());
