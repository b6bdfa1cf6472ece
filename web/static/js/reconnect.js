// reconnect.js: the one reconnect schedule of the live pages (contest host
// and player, campaign leaderboard, dashboard). After a drop a page waits
// a jittered, exponentially growing delay before it tries again, so that
// a thousand phones dropped by one server restart do not all come back in
// the same instant; a successful connection resets the schedule.

// jittered returns the delay in ms before try n (0, 1, …): base·2ⁿ capped
// at max, of which a random half is taken off ("equal jitter": never less
// than half the cap, so a page still backs off).
export function jittered(n, base, max) {
  const cap = Math.min(max, base * 2 ** Math.min(n, 30));
  return cap / 2 + Math.random() * (cap / 2);
}

// backoff returns a schedule: retry(fn) runs fn after the next delay
// (cancelling a retry already waiting), reset() starts over from base (call
// it once connected), cancel() drops a waiting retry.
export function backoff({ base = 500, max = 8000 } = {}) {
  let n = 0;
  let timer = null;
  return {
    retry(fn) {
      clearTimeout(timer);
      const d = jittered(n++, base, max);
      timer = setTimeout(() => { timer = null; fn(); }, d);
      return d;
    },
    reset() { n = 0; },
    cancel() { clearTimeout(timer); timer = null; },
  };
}
