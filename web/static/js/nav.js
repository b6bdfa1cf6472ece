// nav.js: the page header: the logout button and the elder-friendly mode
// switch (large type, high contrast), remembered on this device under the
// localStorage key kepu.elder; elder_boot.js applies it before first paint.
import { api } from './api.js';

for (const b of document.querySelectorAll('[data-logout]')) {
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await api('POST', '/api/v1/auth/logout'); } finally { location.href = '/'; }
  });
}

const root = document.documentElement;
for (const b of document.querySelectorAll('[data-elder-toggle]')) {
  b.setAttribute('aria-pressed', String(root.classList.contains('elder')));
  b.addEventListener('click', () => {
    const on = root.classList.toggle('elder');
    try { if (on) localStorage.setItem('kepu.elder', '1'); else localStorage.removeItem('kepu.elder'); } catch { /* not remembered */ }
    for (const x of document.querySelectorAll('[data-elder-toggle]')) x.setAttribute('aria-pressed', String(on));
  });
}
