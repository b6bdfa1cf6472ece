// drill.js: one server-timed question on a phone, shared by the daily
// practice (practice.js) and the notebook's retries (notebook.js): big
// tiles, a countdown from the server's remaining time, then right or
// wrong with the right answer and the explanation. The server serves,
// times and judges; the key arrives only with the result. When the
// countdown ends the page sends an empty answer, which the server locks as
// a timeout.
import { el } from './api.js';
import { translator } from './i18n.js';

const $ = (id) => document.getElementById(id);
const LETTERS = 'ABCDEFGH';
export const t = translator('daily-msgs');
export const tc = translator('campaign-msgs');

let tick = null;

export function show(view) {
  for (const v of document.querySelectorAll('#play .view')) v.hidden = v.id !== 'v-' + view;
}
export function status(msg) { $('status').textContent = msg || ''; $('status').hidden = !msg; }
export function error(msg) { $('err').textContent = msg || ''; $('err').hidden = !msg; }

// ask shows question q (got: performance.now() when it arrived) and calls
// answer(choice) once: with the shown positions chosen, or [] at the end
// of the countdown.
export function ask(q, got, answer) {
  let chosen = [];
  let locked = false;
  const send = (choice) => {
    if (locked) return;
    locked = true;
    clearInterval(tick);
    for (const b of $('q-tiles').children) b.disabled = true;
    answer(choice);
  };
  show('question');
  $('q-of').textContent = tc('campaign.question_n', { n: q.seq, total: q.total });
  $('q-notebook').hidden = !q.notebook;
  $('q-stem').textContent = q.stem;
  const multiple = q.type === 'multiple';
  $('q-multi').hidden = !multiple;
  $('q-tiles').replaceChildren(...q.options.map((o, i) => el('button', {
    type: 'button', class: 'tile c' + i, 'data-option': String(i), 'aria-pressed': 'false',
    onclick: () => {
      if (locked) return;
      if (!multiple) { chosen = [i]; send(chosen); return; }
      chosen = chosen.includes(i) ? chosen.filter(x => x !== i) : [...chosen, i];
      for (const b of $('q-tiles').children) b.setAttribute('aria-pressed', chosen.includes(Number(b.dataset.option)) ? 'true' : 'false');
      $('q-submit').disabled = chosen.length === 0;
    },
  }, el('span', { class: 'shape', 'aria-hidden': 'true', text: LETTERS[i] }), el('span', { text: o }))));
  $('q-submit').hidden = !multiple;
  $('q-submit').disabled = true;
  $('q-submit').onclick = () => send(chosen);
  clearInterval(tick);
  const end = got + Math.max(0, q.remaining_ms);
  const draw = () => {
    const left = Math.max(0, end - performance.now());
    $('q-timer').textContent = tc('campaign.seconds', { n: Math.ceil(left / 1000) });
    $('q-bar').style.width = (100 * left / q.time_limit_ms).toFixed(1) + '%';
    $('q-timer').classList.toggle('low', left < 5000);
    if (left <= 0) send([]);
  };
  draw();
  tick = setInterval(draw, 200);
}

// result shows a judged answer r (note: an extra line) and resolves when
// the player taps "next".
export function result(r, note, nextLabel) {
  show('result');
  $('res-verdict').textContent = r.timed_out ? tc('campaign.timeout') : r.correct ? tc('campaign.right') : tc('campaign.wrong');
  $('res-verdict').className = 'verdict ' + (r.correct ? 'ok' : 'bad');
  $('res-note').textContent = note || '';
  $('res-answer').textContent = r.correct_choice.map(i => LETTERS[i]).join('、');
  $('res-explain').textContent = r.explanation;
  $('res-explain-box').hidden = !r.explanation;
  $('res-next').textContent = nextLabel || tc('campaign.next');
  return new Promise(resolve => { $('res-next').onclick = () => resolve(); });
}
