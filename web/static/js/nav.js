// nav.js: the logout button in the page header.
import { api } from './api.js';

for (const b of document.querySelectorAll('[data-logout]')) {
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await api('POST', '/api/v1/auth/logout'); } finally { location.href = '/'; }
  });
}
