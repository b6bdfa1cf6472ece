// pk.js: PK battles — the lobby (matchmaking over /ws/pk?mode=), the
// match (/ws/pk?match=: the server's state, answers with their acks, the
// result screen) and the invitation page. Protocol: docs/realtime.md.
import { api } from './api.js';
import { translator } from './i18n.js';

const t = translator('pk-msgs', 'pk.');
const $ = (id) => document.getElementById(id);
const show = (node, on) => { if (node) node.hidden = !on; };

function showError(msg) {
  const e = $('pk-err');
  if (!e) return;
  e.textContent = msg || '';
  e.hidden = !msg;
}

const accept = $('pk-accept');
if (accept) {
  accept.addEventListener('click', async () => {
    accept.disabled = true;
    try {
      const r = await api('POST', `/api/v1/pk/invites/${encodeURIComponent(accept.dataset.code)}/join`);
      location.href = `/pk/match/${r.match}`;
    } catch (e) {
      showError(e.message);
      accept.disabled = false;
    }
  });
}

const root = $('pk');
if (root) start();

function wsURL(qs) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws/pk?${qs}`;
}

function start() {
  let match = Number(root.dataset.match || 0);
  let ws = null;
  let done = false;
  let deadline = 0; // local ms when the current phase ends
  let view = null;
  let sentQ = -1;

  setInterval(tick, 200);

  if (match) {
    connect(`match=${match}`);
  } else {
    $('pk-start').addEventListener('click', () => {
      const mode = document.querySelector('input[name="mode"]:checked')?.value || '2';
      show($('pk-lobby'), false);
      show($('pk-wait'), true);
      $('pk-waited').textContent = t('matching_now');
      connect(`mode=${mode}`);
    });
    $('pk-invite').addEventListener('click', async () => {
      try {
        const r = await api('POST', '/api/v1/pk/invites');
        location.href = `/pk/match/${r.match}`;
      } catch (e) { showError(e.message); }
    });
    $('pk-bot').addEventListener('click', () => {
      if (ws) ws.send(JSON.stringify({ t: 'bot' }));
      $('pk-bot').disabled = true;
    });
    $('pk-cancel').addEventListener('click', () => { done = true; if (ws) ws.close(); location.href = '/pk'; });
  }

  function connect(qs) {
    ws = new WebSocket(wsURL(qs));
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      switch (m.t) {
        case 'waiting':
          $('pk-waited').textContent = t('waited', { s: Math.floor(m.waited_ms / 1000) });
          show($('pk-bot-box'), !!m.bot_offer);
          break;
        case 'matched':
          match = m.match;
          history.replaceState(null, '', `/pk/match/${match}`);
          show($('pk-wait'), false);
          break;
        case 'state':
          render(m);
          break;
        case 'ack':
          if (m.outcome === 'ok' || m.outcome === 'duplicate') $('pk-status').textContent = t('answered_wait');
          else if (m.outcome === 'closed') $('pk-status').textContent = t('too_late');
          break;
        case 'error':
          showError(m.message);
          break;
      }
    };
    ws.onclose = () => {
      ws = null;
      if (done) return;
      // Rejoin: the server sends the match where it stands.
      setTimeout(() => connect(match ? `match=${match}` : qs), 1000);
    };
  }

  function tick() {
    if (!view || !deadline) return;
    const left = Math.max(0, deadline - Date.now());
    if (view.phase === 'question') $('pk-timer').textContent = Math.ceil(left / 1000);
    else if (view.phase === 'ready') $('pk-status').textContent = t('get_ready', { s: Math.ceil(left / 1000) });
  }

  function nickOf(p) { return p.bot ? t('bot_name') : p.nick; }

  function renderPlayers(v) {
    const ol = $('pk-players');
    ol.replaceChildren();
    for (const p of v.players) {
      const li = document.createElement('li');
      if (p.seat === v.me) li.className = 'me';
      li.dataset.testid = `pk-player-${p.seat}`;
      const nick = document.createElement('div');
      nick.className = 'nick';
      nick.textContent = nickOf(p) + (p.seat === v.me ? t('you_suffix') : '');
      if (p.bot) {
        const b = document.createElement('span');
        b.className = 'pk-bot-badge';
        b.textContent = t('bot_badge');
        nick.append(b);
      }
      const score = document.createElement('div');
      score.className = 'score';
      score.dataset.testid = `pk-score-${p.seat}`;
      score.textContent = t('points', { n: p.score });
      const dots = document.createElement('div');
      dots.className = 'dots';
      dots.dataset.testid = `pk-progress-${p.seat}`;
      dots.setAttribute('aria-label', t('progress', { n: p.answered.filter(Boolean).length, count: v.count }));
      dots.textContent = p.answered.map((a) => (a ? '●' : '○')).join('');
      li.append(nick, score, dots);
      ol.append(li);
    }
  }

  function roundNode(v, r) {
    const div = document.createElement('div');
    div.className = 'pk-round';
    div.dataset.testid = `pk-round-${r.q}`;
    const stem = document.createElement('p');
    stem.textContent = t('q_of', { n: r.q + 1, count: v.count }) + ' ' + r.stem;
    const key = document.createElement('p');
    key.className = 'key';
    key.dataset.testid = 'pk-key';
    key.textContent = t('key') + r.answer.map((i) => r.options[i]).join(t('sep'));
    div.append(stem, key);
    const ul = document.createElement('ul');
    for (const a of r.answers) {
      const li = document.createElement('li');
      const p = v.players[a.seat];
      const what = a.choice.length ? a.choice.map((i) => r.options[i]).join(t('sep')) : t('no_answer');
      li.className = a.correct ? 'ok' : 'bad';
      li.textContent = t('their_answer', { nick: nickOf(p), answer: what, n: a.points });
      ul.append(li);
    }
    const ex = document.createElement('p');
    ex.className = 'muted';
    ex.textContent = t('explanation') + r.explanation;
    div.append(ul, ex);
    return div;
  }

  function render(v) {
    view = v;
    deadline = v.remaining_ms ? Date.now() + v.remaining_ms : 0;
    show($('pk-lobby'), false);
    show($('pk-wait'), false);
    show($('pk-game'), v.phase !== 'waiting');
    show($('pk-invite-box'), v.phase === 'waiting');
    if (v.phase === 'waiting') return;
    renderPlayers(v);
    show($('pk-q'), v.phase === 'question');
    show($('pk-reveal'), v.phase === 'closed');
    show($('pk-result'), v.phase === 'done');
    const status = $('pk-status');
    if (v.phase === 'ready') {
      tick();
    } else if (v.phase === 'question') {
      $('pk-of').textContent = t('q_of', { n: v.q + 1, count: v.count });
      const same = $('pk-stem').dataset.q === String(v.q);
      $('pk-stem').dataset.q = String(v.q);
      $('pk-stem').textContent = v.question.stem;
      if (!same) {
        sentQ = -1;
        status.textContent = '';
        const tiles = $('pk-tiles');
        tiles.replaceChildren();
        v.question.options.forEach((o, i) => {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = `tile c${i % 6}`;
          b.dataset.testid = `pk-option-${i}`;
          b.textContent = o;
          b.addEventListener('click', () => answer(v.q, i, b));
          tiles.append(b);
        });
      }
      if (v.mine && v.mine.length) {
        for (const b of $('pk-tiles').children) b.disabled = true;
        status.textContent = t('answered_wait');
      }
      tick();
    } else if (v.phase === 'closed') {
      status.textContent = t('round_over');
      const r = v.rounds[v.rounds.length - 1];
      $('pk-reveal').replaceChildren(roundNode(v, r));
    } else if (v.phase === 'done') {
      done = true;
      status.textContent = '';
      const me = v.players[v.me];
      const firsts = v.players.filter((p) => p.place === 1).length;
      $('pk-verdict').textContent = me.place === 1 ? (firsts > 1 ? t('tie') : t('win')) : t('place', { n: me.place });
      $('pk-rounds').replaceChildren(...v.rounds.map((r) => roundNode(v, r)));
      if (ws) ws.close();
    }
  }

  function answer(q, i, btn) {
    if (!ws || sentQ === q) return;
    sentQ = q;
    for (const b of $('pk-tiles').children) b.disabled = true;
    btn.setAttribute('aria-pressed', 'true');
    $('pk-status').textContent = t('sending');
    ws.send(JSON.stringify({ t: 'answer', q, c: [i] }));
  }
}
