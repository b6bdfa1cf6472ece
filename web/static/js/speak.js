// speak.js: the 「朗读」 button of the question pages (campaign attempt and
// live contest phone): reads the question stem and its options with the
// browser's speech synthesis, in a zh-CN voice on Chinese pages and en-US
// on English ones. The button (partial "read-aloud") carries its labels and
// the option pattern from the locale files; it stays hidden when the
// browser cannot speak. Pressing it again, or a new question (stop), ends
// the reading.
import { format } from './i18n.js';

const synth = () => window.speechSynthesis;

// speechLang is the BCP 47 tag of the voice that reads text: zh-CN on
// Chinese pages, en-US on English ones unless text has Chinese characters
// (a Chinese question on an English page: an en-US voice would skip them).
export function speechLang(text) {
  if (!(document.documentElement.lang || '').startsWith('en')) return 'zh-CN';
  return /\p{Script=Han}/u.test(text) ? 'zh-CN' : 'en-US';
}

// readAloud wires the button with id (absent: a no-op reader) and returns
// { set(stem, options, letters), stop() }: set gives the question to read
// (letters[i] names option i) and stops any reading of the previous one.
export function readAloud(id) {
  const btn = document.getElementById(id);
  const can = !!btn && 'speechSynthesis' in window && typeof window.SpeechSynthesisUtterance === 'function';
  let text = '';
  let current = null; // the utterance being read
  const label = (on) => {
    btn.setAttribute('aria-pressed', String(on));
    btn.textContent = on ? btn.dataset.stop : btn.dataset.read;
  };
  const stop = () => {
    if (!can) return;
    if (current) { current = null; synth().cancel(); }
    label(false);
  };
  if (can) {
    btn.hidden = false;
    label(false);
    btn.addEventListener('click', () => {
      if (current) { stop(); return; }
      if (!text) return;
      const u = new SpeechSynthesisUtterance(text);
      u.lang = speechLang(text);
      const voice = synth().getVoices().find(v => v.lang.replace('_', '-') === u.lang)
        || synth().getVoices().find(v => v.lang.startsWith(u.lang.slice(0, 2)));
      if (voice) u.voice = voice;
      u.rate = 0.9;
      const done = () => { if (current === u) { current = null; label(false); } };
      u.onend = done;
      u.onerror = done;
      synth().cancel(); // anything still queued from another page or question
      current = u;
      label(true);
      synth().speak(u);
    });
    window.addEventListener('pagehide', stop);
  }
  return {
    set(stem, options, letters) {
      if (!can) return;
      stop();
      const lines = [stem, ...options.map((o, i) => format(btn.dataset.option, { letter: letters[i], text: o }))];
      text = lines.filter(Boolean).join('\n');
    },
    stop,
  };
}
