// leaderboard.js: a campaign's live leaderboard. It watches one board over
// /ws/leaderboard (the server pushes the top entries and the viewer's rank
// whenever the board changes; protocol in leaderboard_ws.go) and reconnects
// with backoff. Tabs switch between the overall board and the viewer's own
// district, school and class boards, and all-time or today. The viewer's own line is highlighted.
// Each name carries the user's tag and district, so a copied nickname is
// told apart (under-14s' names come masked on public boards). While the
// server rebuilds the boards the page keeps the lines it shows and says so.
import { el } from './api.js';
import { messages } from './campaign_msgs.js';
import { backoff } from './reconnect.js';

const t = messages();
const $ = (id) => document.getElementById(id);
const root = $('lb');
const campaign = root.dataset.campaign;
let board = 'all';
let period = 'all';
// A campaign with divisions: the division whose boards are shown (the
// viewer's own first); '' without divisions.
let division = root.dataset.division || '';
let ws = null;
const retry = backoff({ base: 500, max: 8000 });
let gen = 0; // bumps on every switch, so a stale socket's messages are ignored

// connect opens the socket of the chosen board; switched: another board
// was chosen (its old lines are not this one's), else a reconnect keeps them.
function connect(switched) {
  retry.cancel();
  if (switched === true) $('lb-rows').replaceChildren();
  const my = ++gen;
  if (ws) { ws.onclose = null; ws.close(); }
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const qs = new URLSearchParams({ campaign, board, period });
  if (division) qs.set('division', division);
  ws = new WebSocket(`${proto}//${location.host}/ws/leaderboard?${qs}`);
  ws.onopen = () => { retry.reset(); $('lb-status').textContent = t('lb.live'); };
  ws.onmessage = (ev) => {
    if (my !== gen) return;
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === 'top') draw(m);
    else if (m.type === 'rebuilding') rebuilding();
  };
  ws.onclose = () => {
    if (my !== gen) return;
    $('lb-status').textContent = t('lb.offline');
    retry.retry(connect);
  };
}

// rebuilding: the server is rebuilding the boards from Postgres (after
// Redis lost them); the lines already shown stay, and the board comes by
// itself when the rebuild is done.
function rebuilding() {
  const shown = $('lb-rows').children.length > 0;
  $('lb-status').textContent = t(shown ? 'lb.rebuilding_stale' : 'lb.rebuilding');
  $('lb-empty').hidden = true;
}

function draw(m) {
  $('lb-status').textContent = t('lb.live');
  const rows = (m.top || []).map(e => el('tr', { class: e.me ? 'me' : null, 'aria-current': e.me ? 'true' : null, 'data-me': e.me ? '1' : null },
    el('td', { text: String(e.rank) }), el('td', {}, e.nickname, ' ', el('small', { class: 'lb-tag muted', 'data-testid': 'lb-tag', text: '#' + e.tag + (e.district ? ' · ' + e.district : '') })), el('td', { text: String(e.score) }), el('td', { text: String(e.time_s) })));
  $('lb-rows').replaceChildren(...rows);
  $('lb-empty').hidden = rows.length > 0;
  $('lb-me').textContent = m.my_rank ? t('lb.my_rank', { n: m.my_rank }) : (root.dataset.user ? t('lb.not_ranked') : '');
}

for (const b of root.querySelectorAll('[data-board]')) {
  b.addEventListener('click', () => {
    board = b.dataset.board;
    for (const x of root.querySelectorAll('[data-board]')) x.setAttribute('aria-selected', x === b ? 'true' : 'false');
    connect(true);
  });
}
for (const b of root.querySelectorAll('[data-division]')) {
  b.addEventListener('click', () => {
    division = b.dataset.division;
    for (const x of root.querySelectorAll('[data-division]')) x.setAttribute('aria-pressed', x === b ? 'true' : 'false');
    connect(true);
  });
}
for (const b of root.querySelectorAll('[data-period]')) {
  b.addEventListener('click', () => {
    period = b.dataset.period;
    for (const x of root.querySelectorAll('[data-period]')) x.setAttribute('aria-pressed', x === b ? 'true' : 'false');
    connect(true);
  });
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && (!ws || ws.readyState > WebSocket.OPEN)) connect();
});

connect();
