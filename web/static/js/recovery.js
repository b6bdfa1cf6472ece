// recovery.js: recovery codes (internal/account/recovery.go). The register
// page and the profile show a new set once, with a download as a text
// file; the forgot-password page sets a new password with one code.
import { bindForm } from './app.js';

// showCodes fills the page's recovery-codes panel with codes and shows it.
function showCodes(panel, codes, username) {
  const list = panel.querySelector('[data-code-list]');
  list.replaceChildren(...codes.map(c => {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = c;
    li.append(code);
    return li;
  }));
  panel.hidden = false;
  panel.querySelector('[data-codes-download]').onclick = () => {
    const d = panel.dataset;
    const text = [d.site + ' · ' + d.fileTitle, username, '', ...codes.map((c, i) => `${i + 1}. ${c}`), '', d.fileNote, ''].join('\n');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    a.download = 'kepu-recovery-codes.txt';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  panel.querySelector('h2').focus();
}

const register = document.querySelector('form[data-register]');
if (register) {
  bindForm(register, (data) => {
    register.hidden = true;
    document.querySelector('[data-have-account]').hidden = true;
    document.querySelector('[data-codes-continue]').hidden = false;
    showCodes(document.querySelector('[data-recovery-codes]'), data.recovery_codes, data.username);
  });
}

const renew = document.querySelector('form[data-new-codes]');
if (renew) {
  bindForm(renew, (data) => {
    renew.reset();
    const username = document.querySelector('[data-testid=username]')?.textContent || '';
    showCodes(renew.parentElement.querySelector('[data-recovery-codes]'), data.recovery_codes, username);
  });
}

const forgot = document.querySelector('form[data-testid=forgot-form]');
if (forgot) {
  bindForm(forgot, (data) => {
    forgot.hidden = true;
    const ok = document.querySelector('[data-recover-ok]');
    ok.textContent = data.message;
    ok.hidden = false;
    document.querySelector('[data-recover-next]').hidden = false;
  });
}
