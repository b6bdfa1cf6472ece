// contest.js: the host's contest list: open a room for a saved contest.
import { api } from './api.js';

const errBox = document.querySelector('.form-error');
for (const b of document.querySelectorAll('[data-open-room]')) {
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const r = await api('POST', `/api/v1/contests/${b.dataset.openRoom}/runs`);
      location.href = '/host/' + r.run.id;
    } catch (e) {
      errBox.textContent = e.message; errBox.hidden = false;
      b.disabled = false;
    }
  });
}
