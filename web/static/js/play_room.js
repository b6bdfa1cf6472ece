// play_room.js: the player's phone during a live contest: big coloured
// answer tiles, then right or wrong, points, streak and rank. The server
// owns the clock and the scores; this page only shows them.
import { el } from './api.js';
import { connectLive, messages, SHAPES, startClock } from './contest_live.js';
import { readAloud } from './speak.js';

const t = messages();
const $ = (id) => document.getElementById(id);
const saved = JSON.parse(localStorage.getItem('kepu.contest') || 'null');
let showText = true;
let current = null;     // the open question
let chosen = [];
let answered = false;
let stopTimer = () => {};
let lastMe = null;
const reader = readAloud('read-aloud');
const NUMBERS = ['1', '2', '3', '4', '5', '6', '7', '8'];

function show(view) {
  for (const v of document.querySelectorAll('#player .view')) v.hidden = v.id !== 'v-' + view;
}

function setMe(me) {
  if (!me) return;
  lastMe = me;
  $('me-nick').textContent = me.nick;
  $('me-score').textContent = t('score_n', { n: me.score });
}

function gone(key) {
  stopTimer();
  reader.stop();
  $('gone-msg').textContent = t(key);
  show('gone');
  if (key !== 'room_gone') localStorage.removeItem('kepu.contest');
}

function renderQuestion(d, remainingMs, mine) {
  // A new question stops the reading of the last one (a snapshot of the
  // same question, after a reconnect, lets it go on).
  if (current?.q !== d.q) reader.set(showText ? d.stem : '', d.options, NUMBERS);
  current = d;
  chosen = mine ? [...mine] : [];
  answered = !!mine;
  show('question');
  $('q-of').textContent = t('question_of', { n: d.q + 1, total: d.count });
  $('q-stem').textContent = showText ? d.stem : '';
  $('q-stem').hidden = !showText;
  const multiple = d.type === 'multiple';
  $('q-tiles').replaceChildren(...d.options.map((o, i) => el('button', {
    type: 'button', class: 'tile c' + i, 'data-option': String(i), 'aria-pressed': chosen.includes(i) ? 'true' : 'false',
    'aria-label': t('option_n', { n: i + 1 }) + ': ' + o, disabled: answered, onclick: () => pick(i, multiple),
  }, el('span', { class: 'shape', 'aria-hidden': 'true', text: SHAPES[i] }), el('span', { text: o }))));
  $('q-submit').hidden = !multiple || answered;
  $('q-sent').hidden = !answered;
  runClock(remainingMs ?? d.remaining_ms);
}

// runClock shows the get-ready countdown the server timed (the tiles
// appear when it ends: an answer before would be refused), then the
// question's time.
let getReady = false;
function runClock(remainingMs) {
  stopTimer();
  stopTimer = startClock({
    remainingMs, durationMs: current.duration_ms, timerEl: $('q-timer'), fmt: (n) => t('seconds_left', { n }),
    onReady: (n) => { getReady = true; setReady(true); $('q-ready-n').textContent = String(n); },
    onOpen: () => { getReady = false; setReady(false); },
  });
}
function setReady(on) {
  $('q-ready').hidden = !on;
  $('q-tiles').hidden = on;
  $('q-timer').hidden = on;
  if (on) $('q-submit').hidden = true;
  else $('q-submit').hidden = current.type !== 'multiple' || answered;
}

// Keys 1–n pick an option on a phone or laptop with a keyboard; Enter
// sends a multiple-choice answer.
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || !current || getReady || $('v-question').hidden) return;
  if (e.target.closest?.('input, select, textarea')) return;
  const i = NUMBERS.indexOf(e.key);
  if (i >= 0 && i < current.options.length) {
    e.preventDefault();
    pick(i, current.type === 'multiple');
  } else if (e.key === 'Enter' && current.type === 'multiple' && !answered && !e.target.closest?.('button')) {
    e.preventDefault();
    send();
  }
});

function pick(i, multiple) {
  if (answered || !current || getReady) return;
  if (multiple) {
    chosen = chosen.includes(i) ? chosen.filter(x => x !== i) : [...chosen, i];
    for (const b of $('q-tiles').children) b.setAttribute('aria-pressed', chosen.includes(Number(b.dataset.option)) ? 'true' : 'false');
    return;
  }
  chosen = [i];
  send();
}

function send() {
  if (!chosen.length || !live.send({ type: 'answer', q: current.q, choice: chosen })) return;
  answered = true;
  for (const b of $('q-tiles').children) { b.disabled = true; b.setAttribute('aria-pressed', chosen.includes(Number(b.dataset.option)) ? 'true' : 'false'); }
  $('q-submit').hidden = true;
  $('q-sent').hidden = false;
}
$('q-submit').addEventListener('click', send);

function renderResult(me) {
  reader.stop();
  setMe(me);
  stopTimer();
  show('result');
  const v = $('res-verdict');
  const last = me.last;
  if (!last) { v.textContent = t('no_answer'); v.className = 'verdict wrong'; }
  else { v.textContent = last.correct ? t('right') : t('wrong'); v.className = 'verdict ' + (last.correct ? 'right' : 'wrong'); }
  $('res-points').textContent = t('points_n', { n: last ? last.points : 0 });
  $('res-streak').textContent = t('streak_n', { n: me.streak });
  $('res-rank').textContent = t('rank_n', { n: me.rank, total: me.players });
}

function renderFinal(me) {
  reader.stop();
  setMe(me);
  stopTimer();
  show('final');
  $('final-rank').textContent = t('final_rank', { n: me.rank, total: me.players });
  $('final-score').textContent = t('score_n', { n: me.score });
  localStorage.removeItem('kepu.contest');
}

function onMessage(m) {
  switch (m.type) {
    case 'snapshot':
      showText = m.show_text;
      setMe(m.me);
      $('paused').hidden = !m.paused;
      if (m.phase === 'lobby') show('wait');
      else if (m.phase === 'question' && m.view_type === 'question') renderQuestion(m.view, m.remaining_ms, m.me?.answered);
      else if (m.phase === 'finished') renderFinal(m.me);
      else if (m.me) renderResult(m.me);
      break;
    case 'clock':
      setMe(m.me);
      if (m.phase === 'question' && current && current.q === m.q && !m.paused) runClock(m.remaining_ms);
      break;
    case 'question': $('paused').hidden = true; renderQuestion(m.data); break;
    case 'ack': answered = true; break;
    case 'answer_error':
      if (m.error === 'duplicate') { answered = true; $('q-sent').hidden = false; }
      else if (m.error === 'closed') { show('wait'); }
      else if (m.error === 'unavailable' && current && m.q === current.q) {
        // Not recorded (the server could not reach its storage): tap again.
        answered = false;
        for (const b of $('q-tiles').children) b.disabled = false;
        $('q-sent').hidden = true;
        $('q-submit').hidden = !(current.type === 'multiple');
        $('conn').textContent = t('answer_retry');
      }
      break;
    case 'closed': stopTimer(); getReady = false; setReady(false); for (const b of $('q-tiles').children) b.disabled = true; break;
    case 'result': renderResult(m.me); break;
    case 'final': renderFinal(m.me); break;
    case 'paused': $('paused').hidden = false; stopTimer(); break;
    case 'resumed':
      $('paused').hidden = true;
      if (m.data.phase === 'question' && current) runClock(m.data.remaining_ms);
      break;
  }
}

let live = { send: () => false };
if (!saved) {
  location.replace('/play');
} else {
  live = connectLive({
    // A fresh page starts from a snapshot; within the page, reconnects
    // replay the missed events (connectLive keeps the last seq).
    room: saved.room, token: saved.token, onMessage,
    onStatus: (s) => { $('conn').textContent = s === 'open' ? '' : s === 'lost' ? t('reconnecting') : s === 'recovering' ? t('recovering') : t('connecting'); },
    onFatal: (why) => gone(why === 'kicked' ? 'kicked' : 'room_gone'),
  });
}
