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
        const next = new URLSearchParams(location.search).get('next');
        location.href = (next && next.startsWith('/') && !next.startsWith('//')) ? next : form.dataset.next;
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
