// admin.js: the user administration page. Password-reset forms show the
// temporary password (returned once by the API) next to the button.
import { bindForm } from './app.js';
import { el } from './api.js';

const label = document.getElementById('password-msg')?.content.textContent || '';

for (const form of document.querySelectorAll('form[data-reset-password]')) {
  bindForm(form, (data) => {
    const out = form.querySelector('.temp-password');
    out.replaceChildren(label + ' ', el('strong', { class: 'pw', text: data.password }));
    out.hidden = false;
  });
}
