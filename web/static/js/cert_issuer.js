// cert_issuer.js: the admin's seal upload on /admin/certificate. The file
// goes as it is (PNG or JPEG); the server checks its content and size.
import { APIError, api } from './api.js';

const $ = (id) => document.getElementById(id);
const ok = $('seal-ok');
const err = $('seal-err');

function say(good, msg) {
  ok.hidden = !good; err.hidden = good;
  (good ? ok : err).textContent = msg;
}

function show(issuer) {
  const has = issuer.has_seal;
  $('seal-preview').hidden = !has;
  if (has) $('seal-preview').src = '/issuer/seal.png?v=' + issuer.version;
  $('seal-none').hidden = has;
  $('seal-remove').hidden = !has;
}

$('seal-file').addEventListener('change', async () => {
  const file = $('seal-file').files[0];
  if (!file) return;
  $('seal-file').disabled = true;
  try {
    const res = await fetch('/api/v1/admin/certificate-issuer/seal', {
      method: 'PUT', body: file, credentials: 'same-origin',
      headers: { 'Content-Type': file.type === 'image/png' || file.type === 'image/jpeg' ? file.type : 'application/octet-stream',
        'Accept': 'application/json', 'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]')?.content || '' },
    });
    const out = await res.json().catch(() => null);
    if (!res.ok) throw new APIError(res.status, out);
    show(out);
    say(true, ok.dataset.saved);
  } catch (e) {
    say(false, e.message);
    $('seal-file').focus();
  } finally {
    $('seal-file').disabled = false;
    $('seal-file').value = '';
  }
});

$('seal-remove').addEventListener('click', async () => {
  if (!window.confirm($('seal-remove').dataset.confirm)) return;
  try {
    show(await api('DELETE', '/api/v1/admin/certificate-issuer/seal'));
    say(true, ok.dataset.removed);
  } catch (e) {
    say(false, e.message);
  }
});
