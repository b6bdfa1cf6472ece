// host.js: the projector view of a live contest. The server drives the
// game; this page shows its events and sends the host's commands.
import { api, el } from './api.js';
import { connectLive, messages, SHAPES, startClock } from './contest_live.js';
import { translator } from './i18n.js';
import { sound } from './sound.js';

const t = messages();
const tp = translator('present-msgs', 'present.');
const root = document.getElementById('host');
const run = root.dataset.run;
const $ = (id) => document.getElementById(id);
const errBox = root.querySelector('.form-error');
let phase = root.dataset.phase;
let paused = false;
let locked = false;
let stopTimer = () => {};
let question = null;

function show(view) {
  for (const v of root.querySelectorAll('.view')) v.hidden = v.id !== 'v-' + view;
}

function setPhase(p) {
  phase = p;
  root.dataset.phase = p;
  const next = $('btn-next');
  next.textContent = p === 'lobby' ? t('start') : p === 'question' ? t('skip') : t('next');
  next.hidden = p === 'finished';
  $('btn-pause').hidden = !['question', 'reveal', 'board'].includes(p);
  $('btn-lock').hidden = p === 'finished';
  $('btn-end').hidden = p === 'finished';
}

function setPaused(v) {
  paused = v;
  $('paused').hidden = !v;
  $('btn-pause').textContent = v ? t('resume') : t('pause');
}

function renderLobby(d) {
  show('lobby');
  locked = !!d.locked;
  $('btn-lock').textContent = locked ? t('unlock') : t('lock');
  $('joined').textContent = d.count ? t('joined_n', { n: d.count }) : t('waiting_players');
  const list = $('lobby-list');
  list.replaceChildren(...d.players.map(p => el('li', {},
    el('span', { text: p.nick }),
    el('button', { type: 'button', 'aria-label': t('kick', { name: p.nick }), 'data-testid': 'kick', onclick: () => kick(p) }, '×'))));
}

function renderQuestion(d, remainingMs) {
  question = d;
  const of = t('question_of', { n: d.q + 1, total: d.count }) + (d.practice ? ' · ' + t('practice_q') : '');
  $('q-of').textContent = of;
  $('ready-of').textContent = of;
  $('q-stem').textContent = d.stem;
  $('ready-stem').textContent = d.stem;
  $('q-options').replaceChildren(...d.options.map((o, i) => el('li', { class: 'c' + i },
    el('span', { class: 'shape', 'aria-hidden': 'true', text: SHAPES[i] }), el('span', { text: o }))));
  $('q-count').textContent = '';
  runClock(remainingMs ?? d.remaining_ms);
}

// runClock shows the question's 3-2-1 (if any time of it is left), then
// the question with its time; the server decided both (remaining_ms).
function runClock(remainingMs) {
  stopTimer();
  stopTimer = startClock({
    remainingMs, durationMs: question.duration_ms, timerEl: $('q-timer'), fmt: (n) => t('seconds_left', { n }),
    onReady: (n) => { show('ready'); $('ready-n').textContent = String(n); sound.play('tick'); },
    onOpen: () => { if (!$('v-ready').hidden) sound.play('go'); show('question'); },
  });
}

function renderReveal(d) {
  show('reveal');
  stopTimer();
  $('r-stem').textContent = d.stem;
  const total = Math.max(1, ...d.dist);
  // One bar per option, as long as the server's count of the answers
  // choosing it; the right options are marked with ✓ (not by colour only).
  $('r-dist').replaceChildren(...d.dist.map((n, i) => {
    const right = d.answer.includes(i);
    const bar = el('span', { class: 'bar c' + i });
    bar.style.width = Math.round(100 * n / total) + '%'; // CSSOM, allowed by the CSP
    return el('li', { class: right ? 'right' : '', 'data-testid': right ? 'right-option' : null },
      el('span', { text: `${SHAPES[i]} ${d.options[i]}` + (right ? ' ✓' : ''), title: right ? t('correct_answer') : null }),
      el('span', { class: 'bar-track' }, bar), el('span', { class: 'dist-n', 'data-testid': 'dist-count', text: String(n) }));
  }));
  $('r-summary').textContent = tp('reveal_summary', { correct: d.correct, answered: d.answered, total: d.total });
  $('r-expl').textContent = d.explanation;
  sound.play('reveal');
}

function standing(p) {
  return el('li', {}, el('span', { text: `${p.nick} · ${p.score}` }),
    p.up > 0 ? el('span', { class: 'up', text: t('moved_up', { n: p.up }) }) : null);
}

function teamsList(teams) {
  if (!teams || !teams.length) return [];
  return [el('h3', { text: t('teams') }), el('ol', {}, ...teams.map(x => el('li', { text: `${x.name} · ${x.score}` })))];
}

function renderBoard(d) {
  show('board');
  $('b-top').replaceChildren(...d.top.map(standing));
  $('b-teams').replaceChildren(...teamsList(d.teams));
}

// renderPodium shows the end of the game. A room nobody joined (the host
// ended it from the lobby) has an empty podium: the page says so instead
// of an empty list and empty tables; a room where nobody answered shows
// its players without a podium.
function renderPodium(d) {
  show('podium');
  stopTimer();
  const podium = d.podium || [];
  const ranking = d.ranking || [];
  const questions = d.questions || [];
  const answered = questions.some(q => q.answered > 0) || podium.some(p => p.score > 0);
  const empty = $('p-empty');
  empty.textContent = !ranking.length ? t('podium_empty') : !answered ? t('podium_no_answers') : '';
  empty.hidden = !empty.textContent;
  $('p-podium').hidden = !answered;
  $('p-detail').hidden = !ranking.length;
  buildPodium(answered ? podium : []);
  $('p-teams').replaceChildren(...teamsList(d.teams));
  $('p-questions').replaceChildren(...questions.map(q => el('tr', {},
    el('td', { text: String(q.q + 1) }), el('td', { text: q.stem }),
    el('td', { text: Math.round(q.accuracy * 100) + '%' }), el('td', { text: (q.avg_ms / 1000).toFixed(1) + ' s' }))));
  $('p-ranking').replaceChildren(...ranking.map(p => el('tr', {},
    el('td', { text: String(p.rank) }), el('td', { text: p.nick }), el('td', { text: String(p.score) }), el('td', { text: String(p.correct) }))));
}

// buildPodium shows the top three on steps (2nd, 1st, 3rd from the
// left), revealed 3rd → 2nd → 1st.
let podiumTimers = [];
function buildPodium(top) {
  for (const id of podiumTimers) clearTimeout(id);
  const places = top.map((p, i) => el('li', { class: 'place place-' + (i + 1), 'data-place': String(i + 1), 'data-testid': 'podium-place' },
    el('span', { class: 'place-nick', text: p.nick }), el('span', { class: 'place-score', text: tp('points', { n: p.score }) }),
    el('span', { class: 'step', text: String(i + 1) })));
  $('p-podium').replaceChildren(...places);
  podiumTimers = [...places].reverse().map((li, k) => setTimeout(() => {
    li.classList.add('shown');
    sound.play(li.dataset.place === '1' ? 'win' : 'step');
  }, 600 + 1200 * k));
}

function renderView(type, d, remainingMs) {
  switch (type) {
    case 'question': renderQuestion(d, remainingMs); break;
    case 'closed': stopTimer(); show('question'); $('q-timer').textContent = t('seconds_left', { n: 0 }); break;
    case 'reveal': renderReveal(d); break;
    case 'board': renderBoard(d); break;
    case 'podium': renderPodium(d); break;
  }
}

const phaseOf = { question: 'question', closed: 'closed', reveal: 'reveal', board: 'board', podium: 'finished' };

function onMessage(m) {
  switch (m.type) {
    case 'snapshot':
      setPhase(m.phase);
      setPaused(m.paused);
      locked = m.locked;
      $('btn-lock').textContent = locked ? t('unlock') : t('lock');
      if (m.phase === 'lobby') renderLobby(m.lobby);
      else if (m.view_type) {
        if (m.view_type === 'question') renderQuestion(m.view, m.remaining_ms);
        else renderView(m.view_type, m.view);
        if (m.phase === 'question') $('q-count').textContent = t('answers_n', { n: m.answered, total: m.lobby?.count ?? 0 });
      }
      break;
    case 'lobby':
      if (phase === 'lobby') renderLobby(m.data);
      break;
    case 'progress':
      $('q-count').textContent = t('answers_n', { n: m.data.answered, total: m.data.total });
      break;
    case 'paused':
      setPaused(true); stopTimer();
      break;
    case 'resumed':
      setPaused(false);
      if (m.data.phase === 'question' && question) runClock(m.data.remaining_ms);
      break;
    case 'clock':
      if (m.phase === 'question' && question && question.q === m.q && !m.paused) runClock(m.remaining_ms);
      break;
    case 'locked':
      locked = m.data.locked; $('btn-lock').textContent = locked ? t('unlock') : t('lock');
      break;
    default:
      if (phaseOf[m.type]) { setPhase(phaseOf[m.type]); if (m.type === 'question') setPaused(false); renderView(m.type, m.data); }
  }
}

async function command(action, body, btn) {
  errBox.hidden = true;
  if (btn) btn.disabled = true;
  try {
    await api('POST', `/api/v1/contest-runs/${run}/${action}`, body);
  } catch (e) {
    errBox.textContent = e.message; errBox.hidden = false;
  } finally {
    if (btn) btn.disabled = false;
  }
}

// kick removes a player after the host confirms: they cannot join this
// game again.
function kick(p) { if (confirm(t('kick_confirm', { name: p.nick }))) command('kick', { player: p.id }); }

$('btn-next').addEventListener('click', () => command('next', { from: phase }, $('btn-next')));

// Presentation: full screen, sound (off until the host turns it on), keys.
function fullscreen() {
  if (document.fullscreenElement) document.exitFullscreen?.();
  else document.documentElement.requestFullscreen?.().catch(() => {});
}
$('btn-full').addEventListener('click', fullscreen);
document.addEventListener('fullscreenchange', () => {
  $('btn-full').textContent = document.fullscreenElement ? tp('exit_fullscreen') : tp('fullscreen');
});
function showSound() {
  $('btn-sound').textContent = sound.on ? tp('sound_on') : tp('sound_off');
  $('btn-sound').setAttribute('aria-pressed', String(sound.on));
}
$('btn-sound').addEventListener('click', () => { sound.set(!sound.on); showSound(); sound.play('go'); });
showSound();
// Space or → moves on, F toggles full screen — not while typing in a
// field, and space not while a button or link has the focus (it presses
// that one).
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || e.target.closest?.('input, select, textarea')) return;
  const onControl = e.target.closest?.('button, a');
  const go = e.key === 'ArrowRight' || (e.key === ' ' && !onControl);
  if (go && !$('btn-next').hidden && !$('btn-next').disabled) {
    e.preventDefault();
    $('btn-next').click();
  } else if (e.key === 'f' || e.key === 'F') {
    fullscreen();
  }
});
$('btn-pause').addEventListener('click', () => command(paused ? 'resume' : 'pause'));
$('btn-lock').addEventListener('click', () => command(locked ? 'unlock' : 'lock'));
$('btn-end').addEventListener('click', () => { if (confirm(t('end_confirm'))) command('end'); });

async function showStored() {
  // A finished run whose room has expired: show the stored results.
  setPhase('finished');
  try {
    const r = await api('GET', `/api/v1/contest-runs/${run}/results`);
    const ranking = r.ranking.map(p => ({ nick: p.nickname, score: p.score, rank: p.rank, correct: p.correct }));
    renderPodium({ podium: ranking.slice(0, 3), ranking, questions: r.questions, teams: [] });
  } catch (e) { errBox.textContent = e.message; errBox.hidden = false; }
}

setPhase(phase);
if (root.dataset.status === 'finished' && phase === 'finished') {
  showStored();
} else {
  connectLive({
    room: Number(run), onMessage,
    onStatus: (s) => { $('conn').textContent = s === 'open' ? '' : s === 'lost' ? t('reconnecting') : s === 'recovering' ? t('recovering') : t('connecting'); },
    onFatal: () => showStored(),
  });
}
