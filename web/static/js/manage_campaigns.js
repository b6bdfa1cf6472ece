// manage_campaigns.js: status actions (publish, pause, close, archive) on
// the organizer's campaign list. Errors (a publish whose quota the bank
// cannot fill names the quota) appear in the page's alert box.
import { api } from './api.js';

const err = document.getElementById('err');
for (const b of document.querySelectorAll('[data-action]')) {
  b.addEventListener('click', async () => {
    if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) return;
    err.hidden = true;
    b.disabled = true;
    try {
      await api('POST', `/api/v1/manage/campaigns/${encodeURIComponent(b.dataset.id)}/${b.dataset.action}`);
      location.reload();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      b.disabled = false;
    }
  });
}
