// time.js: the one formatter of times in the browser, the twin of
// kepu.FormatTime. Every time a script shows is Beijing time (Asia/Shanghai,
// UTC+8 all year, no daylight saving), whatever the device's zone, and says
// so through the page's "{time}（北京时间）" message (data-at-bj on <html>).
const SH = 8 * 3600 * 1000;

// wall is the Beijing wall time of an ISO time (or a Date) as
// "YYYY-MM-DDTHH:MM:SS".
const wall = (t) => new Date(new Date(t).getTime() + SH).toISOString().slice(0, 19);

// bjTime formats t as "2026-01-02 07:30" (to the minute), or as
// "2026-01-02" with { date: true }, or to the second with { seconds: true }.
export function bjTime(t, { date = false, seconds = false } = {}) {
  const w = wall(t).replace('T', ' ');
  return date ? w.slice(0, 10) : w.slice(0, seconds ? 19 : 16);
}

// bjLabel is bjTime(t, opts) labelled as Beijing time in the page's language.
export function bjLabel(t, opts) {
  const msg = document.documentElement.dataset.atBj || '{time}';
  return msg.replace('{time}', bjTime(t, opts));
}

// toInput is t as the value of a datetime-local input showing Beijing time;
// fromInput reads such a value back as an ISO time with its +08:00 offset.
export const toInput = (t) => wall(t).slice(0, 16);
export const fromInput = (v) => (v ? v + ':00+08:00' : '');
