// confirm.js: the page's own confirm dialog (a modal <dialog>: focus moves
// to its safe button, Esc or the cancel button answer no, focus returns to
// the button that asked) and the one-line notice that survives a reload
// ("已发布「…」"). Texts come from the page's organize.confirm_* messages
// (<script id="organize-msgs">) and the caller; they are set as text only.
import { el } from './api.js';
import { translator } from './i18n.js';

const t = translator('organize-msgs');
let seq = 0;

// confirmDialog asks { title, body, ok } and resolves true when the person
// chose ok. danger colours the ok button red.
export function confirmDialog({ title, body, ok, danger = false }) {
  const back = document.activeElement;
  const n = ++seq;
  const yes = el('button', { type: 'button', class: danger ? 'danger' : '', 'data-testid': 'confirm-ok', text: ok || t('organize.confirm_ok') });
  const no = el('button', { type: 'button', class: 'secondary', 'data-testid': 'confirm-cancel', text: t('organize.confirm_cancel') });
  const dlg = el('dialog', { class: 'confirm', 'aria-labelledby': `confirm-title-${n}`, 'aria-describedby': `confirm-body-${n}`, 'data-testid': 'confirm' },
    el('h2', { id: `confirm-title-${n}`, text: title }),
    el('p', { id: `confirm-body-${n}`, text: body }),
    el('p', { class: 'actions' }, yes, no));
  document.body.append(dlg);
  return new Promise((resolve) => {
    const done = (v) => {
      dlg.close();
      dlg.remove();
      back?.focus?.();
      resolve(v);
    };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    dlg.showModal();
    no.focus();
  });
}

const KEY = 'kepu-notice';

// noticeNext keeps msg to show on the next page this tab opens (after a
// reload or a redirect).
export function noticeNext(msg) {
  try { sessionStorage.setItem(KEY, msg); } catch { /* private mode: no notice */ }
}

// showNotice puts a kept notice, if any, into box (a role=status element).
export function showNotice(box) {
  let msg = null;
  try { msg = sessionStorage.getItem(KEY); sessionStorage.removeItem(KEY); } catch { /* none */ }
  if (msg && box) { box.textContent = msg; box.hidden = false; }
}
