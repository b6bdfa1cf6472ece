// portal.js: the home page's countdowns to each open campaign's end
// (home.html, data-ends in seconds since the epoch), ticking every second
// in the page's language.
import { translator } from './i18n.js';

const t = translator('portal-msgs', 'portal.');
const boxes = [...document.querySelectorAll('[data-ends]')];

function text(left) {
  if (left <= 0) return t('ended');
  const d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
  const m = Math.floor(left % 3600 / 60), s = left % 60;
  if (d > 0) return t('countdown_d', { d, h, m });
  if (h > 0) return t('countdown_h', { h, m, s });
  return t('countdown_m', { m, s });
}

function tick() {
  const now = Math.floor(Date.now() / 1000);
  for (const el of boxes) el.textContent = text(Number(el.dataset.ends) - now);
}

if (boxes.length) {
  tick();
  setInterval(tick, 1000);
}
