// host.js: the projector view of a live contest. The server drives the
// game; this page shows its events and sends the host's commands.
import { api, el } from './api.js';
import { connectLive, messages, SHAPES, countdown } from './contest_live.js';

const t = messages();
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
  show('question');
  $('q-of').textContent = t('question_of', { n: d.q + 1, total: d.count }) + (d.practice ? ' · ' + t('practice_q') : '');
  $('q-stem').textContent = d.stem;
  $('q-options').replaceChildren(...d.options.map((o, i) => el('li', { class: 'c' + i },
    el('span', { class: 'shape', 'aria-hidden': 'true', text: SHAPES[i] }), el('span', { text: o }))));
  $('q-count').textContent = '';
  stopTimer();
  stopTimer = countdown($('q-timer'), remainingMs ?? d.remaining_ms, (n) => t('seconds_left', { n }));
}

function renderReveal(d) {
  show('reveal');
  stopTimer();
  $('r-stem').textContent = d.stem;
  const total = Math.max(1, ...d.dist);
  $('r-dist').replaceChildren(...d.dist.map((n, i) => {
    const right = d.answer.includes(i);
    const bar = el('span', { class: 'bar c' + i });
    bar.style.width = Math.round(100 * n / total) + '%'; // CSSOM, allowed by the CSP
    return el('li', { class: right ? 'right' : '', 'data-testid': right ? 'right-option' : null },
      el('span', { text: `${SHAPES[i]} ${d.options[i]}` + (right ? ' ✓' : ''), title: right ? t('correct_answer') : null }),
      bar, el('span', { text: String(n) }));
  }));
  $('r-expl').textContent = d.explanation;
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
  $('p-podium').replaceChildren(...podium.map(p => el('li', { text: `${p.nick} · ${p.score}` })));
  $('p-teams').replaceChildren(...teamsList(d.teams));
  $('p-questions').replaceChildren(...questions.map(q => el('tr', {},
    el('td', { text: String(q.q + 1) }), el('td', { text: q.stem }),
    el('td', { text: Math.round(q.accuracy * 100) + '%' }), el('td', { text: (q.avg_ms / 1000).toFixed(1) + ' s' }))));
  $('p-ranking').replaceChildren(...ranking.map(p => el('tr', {},
    el('td', { text: String(p.rank) }), el('td', { text: p.nick }), el('td', { text: String(p.score) }), el('td', { text: String(p.correct) }))));
}

function renderView(type, d, remainingMs) {
  switch (type) {
    case 'question': renderQuestion(d, remainingMs); break;
    case 'closed': stopTimer(); $('q-timer').textContent = t('seconds_left', { n: 0 }); break;
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
      if (m.data.phase === 'question') stopTimer = countdown($('q-timer'), m.data.remaining_ms, (n) => t('seconds_left', { n }));
      break;
    case 'clock':
      if (m.phase === 'question' && question && question.q === m.q && !m.paused) {
        stopTimer();
        stopTimer = countdown($('q-timer'), m.remaining_ms, (n) => t('seconds_left', { n }));
      }
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
