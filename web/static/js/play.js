// play.js: join a live contest with its PIN and a nickname. The room token
// is kept in localStorage so a refresh or a dropped network never loses
// the player.
import { api } from './api.js';

const form = document.getElementById('join-form');
const errBox = form.querySelector('.form-error');
const pin = document.getElementById('pin');
// Teams are not chosen here: the server puts a pupil in their class's team
// and anyone else in the smallest team (docs/fairness.md).
(pin.value ? document.getElementById('nickname') : pin).focus();

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errBox.hidden = true;
  const btn = form.querySelector('button[type=submit]');
  const label = btn.textContent;
  btn.disabled = true; btn.textContent = btn.dataset.working;
  try {
    const body = { pin: pin.value.trim(), nickname: document.getElementById('nickname').value };
    const j = await api('POST', '/api/v1/play/join', body);
    localStorage.setItem('kepu.contest', JSON.stringify({ room: j.room, token: j.token, nick: j.nickname }));
    location.href = '/play/room';
  } catch (e) {
    errBox.textContent = e.message; errBox.hidden = false;
    if (e.field) { const f = form.querySelector(`[name="${CSS.escape(e.field)}"]`); f?.setAttribute('aria-invalid', 'true'); f?.focus(); }
  } finally {
    btn.disabled = false; btn.textContent = label;
  }
});
