// campaign.js: the campaign page's start button (POST an attempt, then go
// play it), the guest form of campaigns that allow guests (POST the
// nickname and district to become a guest, then start the same way) and the
// certificate's print button.
import { api } from './api.js';

// startAttempt starts (or resumes) an attempt: a practice one (练习) when
// practice is set, in the division chosen on the page where the campaign
// lets participants choose.
async function startAttempt(campaign, practice) {
  const body = { practice: !!practice };
  const chosen = document.getElementById('division');
  if (chosen) body.division = chosen.value;
  const r = await api('POST', `/api/v1/campaigns/${encodeURIComponent(campaign)}/attempts`, body);
  location.href = `/attempts/${r.attempt.id}`;
}

for (const b of document.querySelectorAll('[data-start]')) {
  b.addEventListener('click', async () => {
    const box = document.querySelector('.camp-actions .form-error:not([data-testid])');
    b.disabled = true;
    try {
      await startAttempt(b.dataset.start, b.dataset.practice === '1');
    } catch (e) {
      if (box) { box.textContent = e.message; box.hidden = false; }
      b.disabled = false;
    }
  });
}

for (const b of document.querySelectorAll('[data-print]')) b.addEventListener('click', () => window.print());

const guest = document.getElementById('guest-form');
guest?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const box = guest.querySelector('.form-error');
  const btn = guest.querySelector('button[type=submit]');
  for (const x of guest.querySelectorAll('[aria-invalid]')) x.removeAttribute('aria-invalid');
  box.hidden = true;
  btn.disabled = true;
  let joined = false;
  try {
    await api('POST', `/api/v1/campaigns/${encodeURIComponent(guest.dataset.campaign)}/guest`, {
      nickname: guest.elements.nickname.value, region_id: Number(guest.elements.region_id.value || 0) });
    joined = true;
    await startAttempt(guest.dataset.campaign);
  } catch (e) {
    box.textContent = e.message; box.hidden = false;
    const f = e.field && guest.elements[e.field];
    if (f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
    if (joined) setTimeout(() => location.reload(), 1500); // a guest now: the page offers the start button
    else btn.disabled = false;
  }
});
