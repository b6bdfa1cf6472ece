// attempt.js: playing one campaign attempt on a phone: one question at a
// time with big tiles and a countdown taken from the server's remaining
// time, then right or wrong with the correct answer and the explanation.
// The server serves, times and scores every question; a refresh resumes
// where the server says the attempt is. One request per question: the
// answer's response carries the next question, whose clock the server
// started when it stored the answer, so the page shows the explanation and
// then the next question without asking again. Page-visibility changes
// are reported as signals (docs/fairness.md, "Campaigns").
import { api, el, APIError } from './api.js';
import { messages } from './campaign_msgs.js';
import { readAloud } from './speak.js';

const t = messages();
const $ = (id) => document.getElementById(id);
const root = $('play');
const id = root.dataset.attempt;
const base = `/api/v1/attempts/${encodeURIComponent(id)}`;
const LETTERS = 'ABCDEFGH';
const reader = readAloud('read-aloud');

let q = null;          // the question being played
let chosen = [];
let locked = false;    // answered or timed out on this page
let tick = null;
let lastSeq = 0;       // the last question shown
let rtt = 0;           // ms, round trip of the request that delivered q
let got = 0;           // performance.now() when q arrived (its remaining_ms is from then)
let seenSeq = 0;       // the last question acknowledged
let seen = null;       // the acknowledgment of q (a promise), awaited before answering
let nextTick = null;   // the countdown on the "next" button

function show(view) {
  for (const v of root.querySelectorAll('.view')) v.hidden = v.id !== 'v-' + view;
}
function status(msg) { $('status').textContent = msg; $('status').hidden = !msg; }
function error(msg) { $('err').textContent = msg || ''; $('err').hidden = !msg; }

// call retries a request lost on the network (answers are idempotent).
async function call(method, url, body) {
  for (let i = 0; ; i++) {
    try {
      return await api(method, url, body);
    } catch (e) {
      if (e instanceof APIError || i >= 4) throw e;
      status(t('campaign.network_retry'));
      await new Promise(r => setTimeout(r, 800 * (i + 1)));
    }
  }
}

async function load(retries = 0) {
  error('');
  let st;
  const sent = performance.now();
  try {
    st = await call('GET', base);
  } catch (e) { error(e.message); return; }
  // The round trip of the request that served the question: half of it
  // (at most 300 ms) is credited to the answer (docs/fairness.md).
  got = performance.now();
  rtt = roundTrip(sent, got);
  // Acknowledge at once: the server times its own round trip (served →
  // acknowledged) and credits no more than that; questions that come with
  // an answer inherit that measurement and need no acknowledgment.
  if (st.question && st.question.seq !== seenSeq) {
    seenSeq = st.question.seq;
    seen = api('POST', `${base}/seen`, { seq: seenSeq }).catch(() => {});
  }
  if (st.attempt.finished_at) { location.href = `/attempts/${id}/result`; return; }
  if (!st.question) { // paused: nothing is served; look again soon
    show('none'); status(t('campaign.paused_wait'));
    setTimeout(() => load(), 5000);
    return;
  }
  if (st.question.seq === lastSeq && locked) { // the server has not locked the timeout yet
    if (retries < 10) setTimeout(() => load(retries + 1), 1000);
    return;
  }
  status('');
  render(st.question);
}

function roundTrip(sent, at) { return Math.min(60000, Math.max(0, Math.round(at - sent))); }

function render(question) {
  clearInterval(nextTick);
  q = question; chosen = []; locked = false; lastSeq = q.seq;
  show('question');
  $('q-of').textContent = t('campaign.question_n', { n: q.seq, total: q.total });
  $('q-stem').textContent = q.stem;
  reader.set(q.stem, q.options, LETTERS);
  const multiple = q.type === 'multiple';
  $('q-multi').hidden = !multiple;
  $('q-tiles').replaceChildren(...q.options.map((o, i) => el('button', {
    type: 'button', class: 'tile c' + i, 'data-option': String(i), 'aria-pressed': 'false',
    onclick: () => pick(i, multiple),
  }, el('span', { class: 'shape', 'aria-hidden': 'true', text: LETTERS[i] }), el('span', { text: o }))));
  $('q-submit').hidden = !multiple;
  $('q-submit').disabled = true;
  startTimer(q.remaining_ms - (performance.now() - got), q.time_limit_ms);
  $('q-tiles').firstChild?.focus();
}

function startTimer(remainingMs, limitMs) {
  clearInterval(tick);
  const end = performance.now() + Math.max(0, remainingMs);
  const draw = () => {
    const left = Math.max(0, end - performance.now());
    $('q-timer').textContent = t('campaign.seconds', { n: Math.ceil(left / 1000) });
    $('q-bar').style.width = (100 * left / limitMs).toFixed(1) + '%';
    $('q-timer').classList.toggle('low', left < 5000);
    if (left <= 0) { clearInterval(tick); timedOut(); }
  };
  draw();
  tick = setInterval(draw, 200);
}

function pick(i, multiple) {
  if (locked) return;
  if (multiple) {
    chosen = chosen.includes(i) ? chosen.filter(x => x !== i) : [...chosen, i];
    for (const b of $('q-tiles').children) b.setAttribute('aria-pressed', chosen.includes(Number(b.dataset.option)) ? 'true' : 'false');
    $('q-submit').disabled = chosen.length === 0;
    return;
  }
  chosen = [i];
  submit();
}
$('q-submit').addEventListener('click', submit);

function lockTiles() {
  locked = true;
  clearInterval(tick);
  for (const b of $('q-tiles').children) { b.disabled = true; b.setAttribute('aria-pressed', chosen.includes(Number(b.dataset.option)) ? 'true' : 'false'); }
  $('q-submit').disabled = true;
}

async function submit() {
  if (locked || !chosen.length) return;
  lockTiles();
  status(t('campaign.sending'));
  try {
    await seen;
    const sent = performance.now();
    const r = await call('POST', `${base}/answers`, { seq: q.seq, choice: chosen, rtt_ms: rtt });
    // The next question came with this response: its round trip is the
    // one to report, and its remaining time counts from now.
    got = performance.now();
    rtt = roundTrip(sent, got);
    status('');
    result(r);
  } catch (e) {
    status('');
    if (e.status === 409) { locked = false; load(); return; } // another tab moved on, or the attempt ended
    error(e.message);
  }
}

function result(r) {
  reader.stop();
  show('result');
  const v = $('res-verdict');
  v.textContent = r.timed_out ? t('campaign.timeout') : r.correct ? t('campaign.right') : t('campaign.wrong');
  v.className = 'verdict ' + (r.correct ? 'right' : 'wrong');
  $('res-points').textContent = t('campaign.points', { n: r.points });
  $('res-answer').textContent = r.correct_choice.map(i => `${LETTERS[i]}. ${q.options[i]}`).join('；');
  $('res-explain').textContent = r.explanation || '';
  $('res-explain-box').hidden = !r.explanation;
  $('res-answer').parentElement.hidden = false;
  const next = $('res-next');
  next.hidden = false;
  if (r.done) q = null; // nothing more to report signals about
  next.textContent = r.done ? t('campaign.see_result') : t('campaign.next');
  if (r.next) countdownNext(next, r.next);
  next.onclick = () => {
    if (r.done) location.href = `/attempts/${id}/result`;
    else if (r.next) render(r.next); // no request: it came with the answer
    else load();
  };
  next.focus();
}

// countdownNext shows on the button that the next question's clock is
// already running (the server started it with the answer).
function countdownNext(button, question) {
  clearInterval(nextTick);
  const end = got + question.remaining_ms;
  const draw = () => {
    const left = Math.max(0, end - performance.now());
    button.textContent = t('campaign.next_running', { n: Math.ceil(left / 1000) });
    if (left <= 0) clearInterval(nextTick);
  };
  draw();
  nextTick = setInterval(draw, 500);
}

// timedOut shows the lesson of a question whose time ran out, as after a
// wrong answer: the server locks the timeout (once its grace has passed)
// and only then reveals the right answer and the explanation.
async function timedOut() {
  if (locked) return;
  lockTiles();
  reader.stop();
  show('result');
  const v = $('res-verdict');
  v.textContent = t('campaign.timeout');
  v.className = 'verdict wrong';
  $('res-points').textContent = t('campaign.points', { n: 0 });
  $('res-answer').parentElement.hidden = true;
  $('res-explain-box').hidden = true;
  const next = $('res-next');
  next.hidden = true;
  status(t('campaign.timeout_fetching'));
  const seq = q.seq;
  for (let i = 0; i < 12; i++) {
    try {
      const sent = performance.now();
      const r = await call('GET', `${base}/answers/${seq}`);
      got = performance.now();
      rtt = roundTrip(sent, got);
      status('');
      // A question served by this GET is acknowledged like one from load().
      if (r.next && r.next.seq !== seenSeq) {
        seenSeq = r.next.seq;
        seen = api('POST', `${base}/seen`, { seq: seenSeq }).catch(() => {});
      }
      result(r);
      return;
    } catch (e) {
      if (e.status !== 409) { status(''); error(e.message); break; }
      await new Promise(r => setTimeout(r, 700)); // still within its grace: not locked yet
    }
  }
  status('');
  next.hidden = false;
  next.textContent = t('campaign.next');
  next.onclick = () => load();
  next.focus();
}

$('give-up').addEventListener('click', async () => {
  if (!window.confirm(t('campaign.confirm_give_up'))) return;
  try {
    await call('POST', `${base}/finish`);
    location.href = `/attempts/${id}/result`;
  } catch (e) { error(e.message); }
});

document.addEventListener('visibilitychange', () => {
  if (!q) return;
  api('POST', `${base}/signals`, { kind: document.visibilityState === 'hidden' ? 'hidden' : 'visible', seq: q.seq }).catch(() => {});
  if (document.visibilityState === 'visible' && !locked) load(); // the countdown may have drifted while hidden
});

load();
