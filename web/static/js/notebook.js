// notebook.js: the wrong-answer notebook (/notebook): each question with
// the person's answer, the right one and the explanation, its next due
// day, and a retry (drill.js) timed by the server.
import { api, el } from './api.js';
import { ask, result, show, status, error, t } from './drill.js';
import { bjLabel } from './time.js';

// Where a notebook question came from: each source's message, named in full.
const SOURCES = {
  campaign: 'daily.source.campaign',
  practice: 'daily.source.practice',
  contest: 'daily.source.contest',
  notebook: 'daily.source.notebook',
};

const LETTERS = 'ABCDEFGH';
const letters = (xs) => xs.map(i => LETTERS[i]).join('、');

async function load() {
  error('');
  let nb;
  try {
    nb = await api('GET', '/api/v1/notebook');
  } catch (e) { status(''); error(e.message); return; }
  status('');
  show('list');
  document.getElementById('nb-summary').textContent = t('daily.notebook.summary', { n: nb.entries.length, due: nb.due, left: nb.left });
  document.getElementById('nb-list').replaceChildren(...nb.entries.map(e => el('li', { class: 'card nb-entry', 'data-testid': 'nb-entry' },
    el('p', { class: 'muted', text: t(SOURCES[e.source] || 'daily.source.practice') + ' · ' + (e.due ? t('daily.notebook.due_now') : t('daily.notebook.due_at', { time: bjLabel(e.due_at) })) }),
    el('p', { class: 'nb-stem', text: e.stem }),
    el('ol', { class: 'nb-options', type: 'A' }, ...e.options.map(o => el('li', { text: o }))),
    el('p', { text: t('daily.notebook.yours') + (e.timed_out || !e.choice.length ? t('daily.notebook.timed_out') : letters(e.choice)) }),
    el('p', { text: t('daily.notebook.right') + letters(e.answer) }),
    el('p', { class: 'nb-explain', text: e.explanation }),
    e.retry_possible ? el('button', { type: 'button', class: 'big-button', 'data-testid': 'retry', onclick: () => retry(e.question_id), text: t('daily.notebook.retry') }) : null,
  )));
}

async function retry(id) {
  error('');
  let r;
  try {
    r = await api('POST', `/api/v1/notebook/${encodeURIComponent(id)}/retry`);
  } catch (e) { error(e.message); return; }
  ask(r.question, performance.now(), async (choice) => {
    let res;
    try {
      res = await api('POST', `/api/v1/notebook/${encodeURIComponent(id)}/answer`, { choice });
    } catch (e) { error(e.message); load(); return; }
    const note = res.left ? t('daily.notebook.left') : res.due_at ? t('daily.notebook.due_at', { time: bjLabel(res.due_at) }) : '';
    await result(res, note, t('daily.notebook.back'));
    load();
  });
}

load();
