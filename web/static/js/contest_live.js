// contest_live.js: the contest websocket client shared by the host and
// player pages. It says hello with the last event seq it saw, so after a
// drop (network, locked phone, server restart) the server replays what was
// missed or sends a fresh snapshot; it reconnects with backoff, keeps the
// connection alive with pings and notices gaps in the event sequence.
// Protocol: docs/realtime.md, "Contests".
import { backoff } from './reconnect.js';
import { translator } from './i18n.js';

// Close codes after which reconnecting cannot help.
export const FATAL = { 4000: 'bad_hello', 4001: 'token', 4003: 'forbidden', 4004: 'kicked', 4010: 'gone' };

export function connectLive({ room, token = '', epoch = 0, seq = 0, onMessage, onStatus, onFatal }) {
  let ws = null;
  let lastSeq = seq;
  let curEpoch = epoch;
  const retry = backoff({ base: 400, max: 5000 });
  let stopped = false;
  let lastHeard = Date.now();

  function open() {
    if (stopped) return;
    retry.cancel();
    onStatus?.('connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/ws/contest`);
    ws.onopen = () => {
      lastHeard = Date.now();
      ws.send(JSON.stringify({ type: 'hello', room, token, epoch: curEpoch, last_seq: lastSeq }));
    };
    ws.onmessage = (ev) => {
      lastHeard = Date.now();
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === 'snapshot') {
        curEpoch = m.epoch; lastSeq = m.seq;
      } else if (m.seq) {
        if (curEpoch && m.epoch !== curEpoch) { lastSeq = 0; curEpoch = 0; ws.close(); return; }
        if (m.seq <= lastSeq) return;
        if (lastSeq && m.seq > lastSeq + 1) { ws.close(); return; } // a gap: reconnect and catch up
        lastSeq = m.seq; curEpoch = m.epoch;
      }
      if (m.type === 'welcome' || m.type === 'snapshot') { retry.reset(); onStatus?.('open'); }
      if (m.type === 'pong') return;
      onMessage(m);
    };
    ws.onclose = (ev) => {
      if (stopped) return;
      if (FATAL[ev.code]) { stopped = true; onFatal?.(FATAL[ev.code]); return; }
      // 1013: the server could not reach its storage; it says so, and we
      // try again with backoff as after any drop.
      onStatus?.(ev.code === 1013 ? 'recovering' : 'lost');
      retry.retry(open);
    };
  }

  // Keepalive: ping every 15 s; silence for 40 s means a dead connection.
  const keep = setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastHeard > 40000) { ws.close(); return; }
    ws.send('{"type":"ping"}');
  }, 15000);
  // A phone waking up reconnects at once instead of waiting for backoff.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && (!ws || ws.readyState > WebSocket.OPEN) && !stopped) open();
  });
  window.addEventListener('online', () => { if (!stopped && (!ws || ws.readyState > WebSocket.OPEN)) open(); });

  open();
  return {
    send(m) { if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(m)); return true; } return false; },
    stop() { stopped = true; retry.cancel(); clearInterval(keep); ws?.close(); },
  };
}

// messages returns a translator over the page's contest.* messages (i18n.js).
export const messages = () => translator('contest-msgs', 'contest.');

// Shapes and colours of answer options: colour is never the only cue.
export const SHAPES = ['▲', '◆', '●', '■', '★', '✚'];

// countdown shows the seconds left in el until remainingMs pass; returns a
// stop function.
export function countdown(el, remainingMs, fmt) {
  const end = performance.now() + remainingMs;
  const tick = () => {
    const left = Math.max(0, Math.ceil((end - performance.now()) / 1000));
    el.textContent = fmt(left);
    return left;
  };
  tick();
  const id = setInterval(() => { if (tick() === 0) clearInterval(id); }, 200);
  return () => clearInterval(id);
}

// readyMs is the get-ready time left of a question (docs/realtime.md: the
// server counts remaining_ms to the deadline, the countdown included, and
// the answer time is duration_ms).
export const readyMs = (remainingMs, durationMs) => Math.max(0, remainingMs - durationMs);

// startClock runs a question's clock from remainingMs: first the 3-2-1
// (onReady(n) each second, n = 3, 2, 1), then onOpen() and the answer time
// shown in timerEl. It returns a stop function.
export function startClock({ remainingMs, durationMs, timerEl, fmt, onReady, onOpen }) {
  let stop = () => {};
  const ready = readyMs(remainingMs, durationMs);
  const open = () => { onOpen(); stop = countdown(timerEl, remainingMs - ready, fmt); };
  if (ready <= 0) { open(); return () => stop(); }
  const end = performance.now() + ready;
  let shown = 0;
  const tick = () => {
    const n = Math.ceil((end - performance.now()) / 1000);
    if (n <= 0) { clearInterval(id); open(); return; }
    if (n !== shown) { shown = n; onReady(n); }
  };
  const id = setInterval(tick, 100);
  stop = () => clearInterval(id);
  tick();
  return () => stop();
}
