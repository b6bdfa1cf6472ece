// practice.js: the daily practice (/practice): today's five questions one
// at a time (drill.js); each answer's response carries the next question,
// served by the same commit; at the end the day's summary and the streak.
import { api } from './api.js';
import { ask, result, show, status, error, t } from './drill.js';

async function load() {
  error('');
  let st;
  try {
    st = await api('GET', '/api/v1/practice/today');
  } catch (e) { status(''); error(e.message); return; }
  status('');
  play(st.day, st.question, st.streak, performance.now());
}

function play(day, q, streak, got) {
  if (!q) { done(day, streak); return; }
  ask(q, got, async (choice) => {
    let r;
    try {
      r = await api('POST', '/api/v1/practice/answers', { day: day.day, seq: q.seq, choice });
    } catch (e) { error(e.message); setTimeout(load, 1500); return; }
    const arrived = performance.now();
    let note = r.correct ? t('daily.practice.plus', { n: r.points }) : '';
    if (r.notebook.left) note += ' ' + t('daily.notebook.left');
    else if (r.notebook.in_notebook) note += ' ' + t('daily.notebook.added');
    await result(r, note.trim(), r.next ? '' : t('daily.practice.finish'));
    // The next question's clock started at the answer's commit.
    play(r.day, r.next, r.streak, arrived);
  });
}

function done(day, streak) {
  show('done');
  document.getElementById('done-summary').textContent =
    t('daily.practice.summary', { right: day.correct, n: day.questions, points: day.points });
  document.getElementById('done-streak').textContent = t('daily.streak.line', { n: streak.current });
}

load();
