// sound.js: optional sounds of the projector (off by default; the choice
// is remembered on this device). Tones are made with WebAudio, no files.
const KEY = 'kepu.sound';

let ctx = null;

function tone(freq, at, dur, type = 'sine', gain = 0.18) {
  const o = ctx.createOscillator();
  const g = ctx.createGain();
  o.type = type;
  o.frequency.value = freq;
  g.gain.setValueAtTime(0.0001, at);
  g.gain.exponentialRampToValueAtTime(gain, at + 0.02);
  g.gain.exponentialRampToValueAtTime(0.0001, at + dur);
  o.connect(g).connect(ctx.destination);
  o.start(at);
  o.stop(at + dur + 0.05);
}

// The cues: a tick of the 3-2-1, the question opening, the reveal, one
// step of the podium and the winner.
const CUES = {
  tick: [[660, 0, 0.12, 'square', 0.08]],
  go: [[880, 0, 0.25, 'triangle']],
  reveal: [[523, 0, 0.18], [659, 0.12, 0.18], [784, 0.24, 0.3]],
  step: [[392, 0, 0.25, 'triangle']],
  win: [[523, 0, 0.2], [659, 0.15, 0.2], [784, 0.3, 0.2], [1047, 0.45, 0.6]],
};

export const sound = {
  get on() { return localStorage.getItem(KEY) === 'on'; },
  // set turns sound on or off; call it from a click (browsers start audio
  // only after a gesture).
  set(on) {
    localStorage.setItem(KEY, on ? 'on' : 'off');
    if (on && !ctx && window.AudioContext) ctx = new AudioContext();
    ctx?.resume?.();
  },
  play(cue) {
    if (!this.on || !window.AudioContext) return;
    if (!ctx) ctx = new AudioContext(); // a page reopened with sound on: may stay silent until a gesture
    const now = ctx.currentTime;
    for (const [f, at, dur, type, gain] of CUES[cue] || []) tone(f, now + at, dur, type, gain);
  },
};
