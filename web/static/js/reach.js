// reach.js: the organizer's invitation report (school links) and the
// final's page: call the final, open its live room, check the invited in
// at the door and follow who has joined the room.
import { api } from './api.js';
import { translator } from './i18n.js';

const t = translator('reach-msgs');

function fail(form, e) {
  const box = form.querySelector('.form-error') || document.querySelector('.form-error');
  if (!box) return;
  box.textContent = e.message;
  box.hidden = false;
}

const linkForm = document.getElementById('school-link');
if (linkForm) {
  linkForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const school = document.getElementById('school-pick').value;
      const r = await api('POST', `/api/v1/campaigns/${linkForm.dataset.campaign}/invite/schools/${school}`);
      document.getElementById('school-link-url').value = r.url;
      document.getElementById('school-link-qr').src = r.qr_url;
      document.getElementById('school-link-out').hidden = false;
    } catch (e) { fail(linkForm, e); }
  });
}

const finalForm = document.getElementById('final-form');
if (finalForm) {
  finalForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const num = (n) => parseInt(finalForm.elements[n].value || '0', 10);
    // datetime-local is Beijing time: +08:00, whatever the device's zone.
    const when = finalForm.elements.starts_at.value;
    try {
      await api('POST', `/api/v1/campaigns/${finalForm.dataset.campaign}/final`, {
        top_n: num('top_n'), starts_at: when ? when + ':00+08:00' : null, place: finalForm.elements.place.value,
        questions: num('questions'), time_limit: num('time_limit'),
      });
      location.reload();
    } catch (e) { fail(finalForm, e); }
  });
}

for (const b of document.querySelectorAll('[data-open-final]')) {
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const r = await api('POST', `/api/v1/contests/${b.dataset.openFinal}/runs`);
      location.href = '/host/' + r.run.id;
    } catch (e) { b.disabled = false; fail(document, e); }
  });
}

const roster = document.getElementById('final-roster');
if (roster) {
  const id = roster.dataset.final;
  roster.addEventListener('change', async (ev) => {
    const box = ev.target.closest('[data-checkin]');
    if (!box) return;
    try {
      await api('POST', `/api/v1/finals/${id}/checkin`, { user_id: Number(box.dataset.checkin), arrived: box.checked });
    } catch (e) { box.checked = !box.checked; fail(document, e); }
  });
  // Who has joined the live room, every 5 s.
  setInterval(async () => {
    try {
      const r = await api('GET', `/api/v1/finals/${id}/roster`);
      for (const p of r.roster) {
        const cell = roster.querySelector(`tr[data-user="${p.user_id}"] [data-joined]`);
        if (!cell) continue;
        const span = document.createElement('span');
        span.className = p.joined ? 'ok' : 'muted';
        span.textContent = t(p.joined ? 'reach.joined' : 'reach.not_joined');
        cell.replaceChildren(span);
      }
    } catch { /* the next poll tries again */ }
  }, 5000);
}
