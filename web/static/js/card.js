// card.js: the page a join card's QR code opens (/card#<token>). The token
// is in the fragment, which the browser never sends; this script posts it
// to /api/v1/auth/card (with the CSRF token, like every API call), removes
// it from the address bar and history at once, and goes on to a same-site
// page once the pupil is logged in.
import { api } from './api.js';
import { safeNext } from './app.js';

const box = document.getElementById('card-login');
const status = document.getElementById('card-status');
const error = document.getElementById('card-error');
const msg = JSON.parse(document.getElementById('card-msgs').textContent);

const token = decodeURIComponent(location.hash.slice(1));
history.replaceState(null, '', location.pathname + location.search);

function fail(text) {
  status.hidden = true;
  error.textContent = text;
  error.hidden = false;
}

if (!token) {
  fail(msg['card.no_token']);
} else {
  try {
    await api('POST', '/api/v1/auth/card', { token });
    location.replace(safeNext(box.dataset.next || '/'));
  } catch (e) {
    fail(e.message);
  }
}
