// play.js: join a live contest with its PIN and a nickname. The room token
// is kept in localStorage so a refresh or a dropped network never loses
// the player.
import { api, el } from './api.js';

const form = document.getElementById('join-form');
const errBox = form.querySelector('.form-error');
const pin = document.getElementById('pin');
const teamBox = document.getElementById('team-box');
const team = document.getElementById('team');

async function loadTeams() {
  if (!/^\d{6}$/.test(pin.value)) { teamBox.hidden = true; return; }
  try {
    const r = await api('GET', '/api/v1/play/teams?pin=' + encodeURIComponent(pin.value));
    teamBox.hidden = r.teams.length === 0;
    team.replaceChildren(...r.teams.map(x => el('option', { value: String(x.class_id), text: x.name })));
  } catch { teamBox.hidden = true; }
}
pin.addEventListener('input', loadTeams);
loadTeams();
(pin.value ? document.getElementById('nickname') : pin).focus();

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errBox.hidden = true;
  const btn = form.querySelector('button[type=submit]');
  const label = btn.textContent;
  btn.disabled = true; btn.textContent = btn.dataset.working;
  try {
    const body = { pin: pin.value.trim(), nickname: document.getElementById('nickname').value };
    if (!teamBox.hidden && team.value) body.team = Number(team.value);
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
