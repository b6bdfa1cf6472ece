// app.js: forms marked data-api submit their fields as JSON to that URL.
// Errors appear in the form's .form-error box (aria-live) and on the field at
// fault; on success the page goes to data-next, reloads (data-reload) or shows
// data-success. data-confirm asks before sending.
import { api } from './api.js';

function fields(form) {
  const out = {};
  for (const e of form.elements) {
    if (!e.name || e.disabled) continue;
    if (e.type === 'checkbox') { out[e.name] = e.checked; continue; }
    if (e.type === 'radio') { if (e.checked) out[e.name] = e.value; continue; }
    if (e.dataset.type === 'int') { out[e.name] = e.value === '' ? 0 : parseInt(e.value, 10); continue; }
    if (e.dataset.type === 'lines') { out[e.name] = e.value.split('\n').map(s => s.trim()).filter(Boolean); continue; }
    if (e.tagName === 'BUTTON') continue;
    out[e.name] = e.value;
  }
  return out;
}

// sameSitePath: starts with exactly one "/", no control character
// (< 0x20, 0x7f) and no backslash; raw (not yet decoded) also refuses
// spaces and anything outside ASCII.
function sameSitePath(p, raw) {
  if (!p.startsWith('/') || p.startsWith('//') || p.startsWith('/\\')) return false;
  for (let i = 0; i < p.length; i++) {
    const b = p.charCodeAt(i);
    if (b < 0x20 || b === 0x7f || b === 0x5c || (raw && (b === 0x20 || b > 0x7e))) return false;
  }
  return true;
}

// percentDecode decodes %XX escapes byte by byte (null for a stray "%").
function percentDecode(s) {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return null;
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

// safeNext returns next when it is a path on this site, else fallback. It is
// the browser's copy of safeNext in internal/server/middleware.go (the one
// rule for redirect targets): at most 512 characters, one leading "/", no
// control characters, backslashes or spaces, also after percent-decoding
// (up to three times); and the URL it resolves to must be on this origin.
export function safeNext(next, fallback = '/') {
  if (typeof next !== 'string' || next.length > 512 || !sameSitePath(next, true)) return fallback;
  for (let d = next, i = 0; i < 3; i++) {
    const u = percentDecode(d);
    if (u === null || !sameSitePath(u, false)) return fallback;
    if (u === d) break;
    d = u;
  }
  let url;
  try { url = new URL(next, location.origin); } catch { return fallback; }
  return url.origin === location.origin ? next : fallback;
}

function show(box, msg) {
  if (!box) return;
  box.textContent = msg;
  box.hidden = !msg;
}

export function bindForm(form, onSuccess) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const errBox = form.querySelector('.form-error');
    const okBox = form.querySelector('.form-ok');
    show(errBox, ''); show(okBox, '');
    for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
    const btn = form.querySelector('button[type=submit]');
    const label = btn?.textContent;
    if (btn) { btn.disabled = true; if (btn.dataset.working) btn.textContent = btn.dataset.working; }
    try {
      const data = await api(form.dataset.method || 'POST', form.dataset.api, fields(form));
      if (onSuccess) return onSuccess(data, form);
      if (form.dataset.success) show(okBox, form.dataset.success);
      if (form.dataset.next !== undefined) {
        location.href = safeNext(new URLSearchParams(location.search).get('next'), safeNext(form.dataset.next));
      } else if (form.dataset.reload !== undefined) {
        setTimeout(() => location.reload(), 400);
      }
    } catch (e) {
      show(errBox, e.message);
      if (e.field) {
        const f = form.querySelector(`[name="${CSS.escape(e.field)}"]`);
        if (f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
      }
    } finally {
      if (btn) { btn.disabled = false; btn.textContent = label; }
    }
  });
}

for (const f of document.querySelectorAll('form[data-api]')) {
  if (f.dataset.manual === undefined) bindForm(f);
}
