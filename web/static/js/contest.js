// contest.js: the host's contest list: open a room for a saved contest,
// duplicate or delete it (editing is its own page).
import { api } from './api.js';
import { translator } from './i18n.js';

const tp = translator('present-msgs', 'present.');
const errBox = document.querySelector('.form-error');
const okBox = document.querySelector('.form-ok');

function fail(e, b) {
  okBox.hidden = true;
  errBox.textContent = e.message; errBox.hidden = false;
  if (b) b.disabled = false;
}

// done says what happened, then reloads the list after a moment (the
// message is read by screen readers and stays on the reloaded page).
function done(msg) {
  errBox.hidden = true;
  sessionStorage.setItem('kepu.contests.ok', msg);
  location.reload();
}
const said = sessionStorage.getItem('kepu.contests.ok');
if (said) { okBox.textContent = said; okBox.hidden = false; sessionStorage.removeItem('kepu.contests.ok'); }

for (const b of document.querySelectorAll('[data-open-room]')) {
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const r = await api('POST', `/api/v1/contests/${b.dataset.openRoom}/runs`);
      location.href = '/host/' + r.run.id;
    } catch (e) { fail(e, b); }
  });
}
for (const b of document.querySelectorAll('[data-duplicate]')) {
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const c = await api('POST', `/api/v1/contests/${b.dataset.duplicate}/duplicate`);
      done(tp('duplicated', { title: c.title }));
    } catch (e) { fail(e, b); }
  });
}
for (const b of document.querySelectorAll('[data-delete]')) {
  b.addEventListener('click', async () => {
    const title = b.dataset.title;
    if (!confirm(tp('delete_confirm', { title }))) return;
    b.disabled = true;
    try {
      const r = await api('DELETE', `/api/v1/contests/${b.dataset.delete}`);
      done(r.runs ? tp('deleted_kept', { title, n: r.runs }) : tp('deleted', { title }));
    } catch (e) { fail(e, b); }
  });
}
