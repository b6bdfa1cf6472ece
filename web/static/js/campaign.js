// campaign.js: the campaign page's start button (POST an attempt, then go
// play it) and the certificate's print button.
import { api } from './api.js';

for (const b of document.querySelectorAll('[data-start]')) {
  b.addEventListener('click', async () => {
    const box = document.querySelector('.camp-actions .form-error');
    b.disabled = true;
    try {
      const r = await api('POST', `/api/v1/campaigns/${encodeURIComponent(b.dataset.start)}/attempts`);
      location.href = `/attempts/${r.attempt.id}`;
    } catch (e) {
      if (box) { box.textContent = e.message; box.hidden = false; }
      b.disabled = false;
    }
  });
}

for (const b of document.querySelectorAll('[data-print]')) b.addEventListener('click', () => window.print());
