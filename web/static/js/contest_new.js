// contest_new.js: create a contest from bank questions, picked by hand or
// drawn at random, with its options.
import { api, el } from './api.js';
import { messages } from './contest_live.js';

const t = messages();
const $ = (id) => document.getElementById(id);
const form = $('new-contest');
const errBox = form.querySelector('.form-error');
const picked = new Map(); // question id -> {stem, practice}

function source() { return form.querySelector('input[name=source]:checked').value; }
for (const r of form.querySelectorAll('input[name=source]')) {
  r.addEventListener('change', () => { $('pick').hidden = source() !== 'pick'; $('draw').hidden = source() !== 'draw'; });
}
// The classes are the teams (team mode) and the roster (roster only).
const showClasses = () => { $('teams').hidden = !$('team_mode').checked && !$('roster_only').checked; };
$('team_mode').addEventListener('change', showClasses);
$('roster_only').addEventListener('change', showClasses);

function renderPicked() {
  $('picked-count').textContent = t('picked', { n: picked.size });
  $('picked').replaceChildren(...[...picked].map(([id, q]) => {
    const practice = el('input', { type: 'checkbox' });
    practice.checked = q.practice;
    practice.addEventListener('change', () => { q.practice = practice.checked; });
    return el('li', {}, el('span', { text: q.stem }),
      el('label', { class: 'check' }, practice, t('practice')),
      el('button', { type: 'button', class: 'small secondary', onclick: () => { picked.delete(id); renderPicked(); } }, t('remove')));
  }));
}

let searchTimer;
async function search() {
  const params = new URLSearchParams({ q: $('q').value, category: $('pick-category').value });
  try {
    const r = await api('GET', '/api/v1/contests/bank?' + params);
    $('bank').replaceChildren(...r.questions.map(q => el('li', {},
      el('span', { text: q.stem }),
      el('button', { type: 'button', class: 'small', 'data-testid': 'add-question',
        onclick: () => { picked.set(q.id, { stem: q.stem, practice: false }); renderPicked(); } }, t('add')))));
  } catch (e) { errBox.textContent = e.message; errBox.hidden = false; }
}
$('q').addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 250); });
$('pick-category').addEventListener('change', search);
search();
renderPicked();

const num = (id) => parseInt($(id).value, 10) || 0;

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errBox.hidden = true;
  const body = {
    title: $('title').value,
    settings: {
      time_limit: num('time_limit'), points: num('points'),
      streak_bonus: $('streak_bonus').checked, show_text: $('show_text').checked,
      auto_advance: $('auto_advance').checked, late_join: $('late_join').checked,
      team_mode: $('team_mode').checked, roster_only: $('roster_only').checked,
      class_ids: [...form.querySelectorAll('input[name=class_ids]:checked')].map(x => Number(x.value)),
    },
  };
  if (source() === 'draw') {
    body.draw = { category: $('category').value, dimension: $('dimension').value, difficulty: num('difficulty'), count: num('count') };
  } else {
    body.question_ids = [...picked.keys()];
    body.practice_ids = [...picked].filter(([, q]) => q.practice).map(([id]) => id);
  }
  const btn = form.querySelector('button[type=submit]');
  const label = btn.textContent;
  btn.disabled = true; btn.textContent = btn.dataset.working;
  try {
    await api('POST', '/api/v1/contests', body);
    location.href = '/contests';
  } catch (e) {
    errBox.textContent = e.message; errBox.hidden = false;
    const f = e.field && document.getElementById(e.field);
    if (f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
  } finally {
    btn.disabled = false; btn.textContent = label;
  }
});
