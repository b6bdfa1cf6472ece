// manage_campaigns.js: status actions (publish, pause, close, archive) on
// the organizer's campaign list. Publishing, ending and archiving ask first
// in the page's confirm dialog (confirm.js); a done action reloads the list
// and says what happened. Errors (a publish whose quota the bank cannot
// fill names the quota) appear in the page's alert box.
import { api } from './api.js';
import { translator } from './i18n.js';
import { confirmDialog, noticeNext, showNotice } from './confirm.js';

const t = translator('organize-msgs');
const err = document.getElementById('err');
const asks = { publish: false, close: true, archive: true }; // action → danger
showNotice(document.getElementById('ok'));
for (const b of document.querySelectorAll('[data-action]')) {
  b.addEventListener('click', async () => {
    const action = b.dataset.action;
    const title = b.closest('[data-title]')?.dataset.title || '';
    if (action in asks && !(await confirmDialog({
      title: t(`organize.confirm_${action}_title`), body: t(`organize.confirm_${action}`, { title }),
      ok: t(`organize.confirm_${action}_ok`), danger: asks[action],
    }))) return;
    err.hidden = true;
    b.disabled = true;
    try {
      await api('POST', `/api/v1/manage/campaigns/${encodeURIComponent(b.dataset.id)}/${action}`);
      noticeNext(t(`organize.done_${action}`, { title }));
      location.reload();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      b.disabled = false;
    }
  });
}
