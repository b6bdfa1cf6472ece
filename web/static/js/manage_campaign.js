// manage_campaign.js: the organizer's campaign form (new or edit). It sends
// the campaign as JSON (times are Asia/Shanghai wall times; schools and
// classes from audience_picker.js; the cover uploaded at once as a bank
// image and sent as cover_image_id), shows the
// server's localized error on the field at fault, and publishes from the
// form: a quota the bank cannot fill is named in the error and its row is
// marked.
import { api, APIError } from './api.js';
import { audiencePicker } from './audience_picker.js';
import { messages } from './campaign_msgs.js';
import { toInput, fromInput } from './time.js';
import { translator } from './i18n.js';
import { confirmDialog, noticeNext, showNotice } from './confirm.js';
import { initDivisions, divisionRules, markDivision } from './manage_divisions.js';

const t = messages();
const ot = translator('organize-msgs');
const $ = (id) => document.getElementById(id);
const form = $('camp-form');
const data = JSON.parse($('campaign-data').textContent || 'null');
const aud = audiencePicker(t);

function addQuota(q = {}) {
  const row = $('quota-row').content.firstElementChild.cloneNode(true);
  for (const f of row.querySelectorAll('[data-q]')) if (q[f.dataset.q] !== undefined) f.value = q[f.dataset.q];
  row.querySelector('[data-remove-quota]').addEventListener('click', () => row.remove());
  $('quotas').append(row);
}
$('add-quota').addEventListener('click', () => addQuota());

// The cover: a file chosen is uploaded at once (POST /api/v1/bank/images,
// the raw bytes; the server checks type, size and sides) and previewed;
// saving the form sets it (cover_image_id, null: none).
const COVER_TYPES = ['image/png', 'image/jpeg', 'image/gif'];
const COVER_MAX_BYTES = 1 << 20; // bank.MaxImageBytes
// A photo made smaller here gets these longest sides and JPEG qualities in
// turn until it fits in COVER_MAX_BYTES.
const COVER_STEPS = [[1600, 0.85], [1280, 0.8], [1024, 0.75], [800, 0.7]];
let coverID = data?.cover_image_id ?? null;

function showCover(url) {
  const img = $('cover-preview');
  if (url) img.src = url; else img.removeAttribute('src');
  img.hidden = !url;
  $('cover-none').hidden = !!url;
  $('cover-remove').hidden = !url;
}

function coverSay(ok, msg) {
  $('cover-status').textContent = ok ? msg : '';
  $('cover-err').textContent = ok ? '' : msg;
  $('cover-err').hidden = ok || !msg;
  if (ok) $('cover-box').removeAttribute('aria-invalid'); else $('cover-box').setAttribute('aria-invalid', 'true');
}

// fitCover turns a file the server would refuse for its size or type (a
// phone's photo) into a smaller JPEG (COVER_STEPS); other files, and files
// the browser cannot decode, go as they are and the server's checks decide.
async function fitCover(file) {
  if ((file.size <= COVER_MAX_BYTES && COVER_TYPES.includes(file.type)) || typeof createImageBitmap !== 'function') return file;
  let bmp;
  try { bmp = await createImageBitmap(file); } catch { return file; }
  let out = file;
  for (const [side, quality] of COVER_STEPS) {
    const k = Math.min(1, side / Math.max(bmp.width, bmp.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bmp.width * k));
    canvas.height = Math.max(1, Math.round(bmp.height * k));
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff'; // transparency becomes white, not black
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (blob) out = blob;
    if (blob && blob.size <= COVER_MAX_BYTES) break;
  }
  bmp.close?.();
  return out;
}

async function uploadCover(file) {
  const input = $('cover');
  coverSay(true, t('campaign.cover_uploading'));
  input.disabled = true;
  try {
    const res = await fetch('/api/v1/bank/images', {
      method: 'POST', body: await fitCover(file), credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream', 'Accept': 'application/json',
        'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]')?.content || '' },
    });
    const out = await res.json().catch(() => null);
    if (!res.ok) throw new APIError(res.status, out?.error ? out : { error: { message: t('campaign.cover_failed') } });
    coverID = out.id;
    showCover(out.url);
    coverSay(true, t('campaign.cover_uploaded'));
  } catch (e) {
    coverSay(false, e instanceof APIError ? e.message : t('campaign.cover_failed'));
    input.focus();
  } finally {
    input.disabled = false;
    input.value = '';
  }
}
$('cover').addEventListener('change', () => { if ($('cover').files[0]) uploadCover($('cover').files[0]); });
$('cover-remove').addEventListener('click', () => {
  coverID = null;
  showCover('');
  coverSay(true, t('campaign.cover_removed'));
  $('cover').focus();
});

function fill(c) {
  const r = c.rules;
  $('title').value = c.title;
  $('description').value = c.description;
  $('starts_at').value = toInput(c.starts_at);
  $('ends_at').value = toInput(c.ends_at);
  for (const b of form.querySelectorAll('input[name=audience]')) b.checked = c.audience.includes(Number(b.value));
  for (const [k, v] of Object.entries(r)) {
    const f = form.elements['rules.' + k];
    if (!f || typeof v === 'object') continue;
    if (f.type === 'checkbox') f.checked = !!v; else f.value = v;
  }
  for (const q of r.quotas || []) addQuota(q);
  showParallel();
}

// Parallel forms are offered for assessments only.
function showParallel() { $('parallel-box').hidden = form.elements['rules.scoring'].value !== 'assessment'; }
form.elements['rules.scoring'].addEventListener('change', showParallel);
showParallel();

function body() {
  const num = (n) => parseInt(form.elements['rules.' + n].value || '0', 10);
  return {
    title: $('title').value,
    description: $('description').value,
    starts_at: fromInput($('starts_at').value) || null,
    ends_at: fromInput($('ends_at').value) || null,
    audience: [...form.querySelectorAll('input[name=audience]:checked')].map(b => Number(b.value)),
    cover_image_id: coverID,
    rules: {
      ...(data ? data.rules : {}), // what the form does not show (tiers) stays as it was
      lang: form.elements['rules.lang'].value,
      schools: aud.schools(), classes: aud.classes(),
      scoring: form.elements['rules.scoring'].value,
      counts: form.elements['rules.counts'].value,
      partial: form.elements['rules.partial'].checked,
      guests: form.elements['rules.guests'].checked,
      invite_reward: form.elements['rules.invite_reward'].checked,
      parallel_forms: form.elements['rules.scoring'].value === 'assessment' && form.elements['rules.parallel_forms'].checked,
      pool: form.elements['rules.pool'].value,
      questions: num('questions'), time_limit: num('time_limit'), attempt_limit: num('attempt_limit'), per_day: num('per_day'), total: num('total'),
      base: num('base'), bonus: num('bonus'), pass_mark: num('pass_mark'),
      ...divisionRules(),
      quotas: [...$('quotas').querySelectorAll('[data-quota]')].map(row => {
        const q = {};
        for (const f of row.querySelectorAll('[data-q]')) {
          if (f.dataset.q === 'count') q.count = parseInt(f.value || '0', 10);
          else if (f.value) q[f.dataset.q] = f.value;
        }
        return q;
      }),
    },
  };
}

function say(ok, msg) {
  $('err').hidden = ok || !msg; $('ok').hidden = !ok || !msg;
  (ok ? $('ok') : $('err')).textContent = msg;
}

function fault(e) {
  say(false, e.message);
  for (const x of form.querySelectorAll('[aria-invalid]')) x.removeAttribute('aria-invalid');
  const name = e.field || '';
  const quota = /^rules\.quotas\.(\d+)$/.exec(name);
  markQuota(quota ? Number(quota[1]) : -1);
  if (quota || markDivision(name)) return;
  const boxes = { 'rules.quotas': 'quotas-box', 'rules.divisions': 'divisions-box', 'rules.division_choice': 'divisions-box', audience: 'audience', 'rules.schools': 'aud-picker', 'rules.classes': 'aud-picker',
    cover_image_id: 'cover-box' };
  const f = boxes[name] ? $(boxes[name]) : form.elements[name] || form.elements[name.replace(/^rules\./, '')];
  if (f && f.setAttribute) { f.setAttribute('aria-invalid', 'true'); f.focus?.(); }
}

// markQuota marks the i-th quota row (the server names a quota's field
// "rules.quotas.i") and moves the focus to its count; -1 clears the mark.
function markQuota(i) {
  const rows = [...$('quotas').querySelectorAll('[data-quota]')];
  rows.forEach((row, n) => row.classList.toggle('quota-short', n === i));
  const count = rows[i]?.querySelector('[data-q=count]');
  if (count) { count.setAttribute('aria-invalid', 'true'); count.focus(); }
}

async function save() {
  if (data && data.id) return api('PUT', `/api/v1/manage/campaigns/${data.id}`, body());
  return api('POST', '/api/v1/manage/campaigns', body());
}

// busy disables the form's buttons while a request runs and says so.
function busy(on) {
  for (const b of form.querySelectorAll('.actions button')) b.disabled = on;
  if (on) say(true, ot('organize.saving'));
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  busy(true);
  try {
    const c = await save();
    if (!data) {
      noticeNext(ot('organize.done_create', { title: c.title }));
      location.href = `/manage/campaigns/${c.id}`;
      return;
    }
    say(true, t('campaign.saved'));
  } catch (e) { fault(e); } finally { busy(false); }
});

$('publish')?.addEventListener('click', async () => {
  const title = $('title').value;
  if (!(await confirmDialog({ title: ot('organize.confirm_publish_title'), body: ot('organize.confirm_publish', { title }),
    ok: ot('organize.confirm_publish_ok') }))) return;
  busy(true);
  try {
    await save();
    await api('POST', `/api/v1/manage/campaigns/${data.id}/publish`);
    noticeNext(ot('organize.done_publish', { title }));
    location.href = '/manage/campaigns';
  } catch (e) { busy(false); fault(e); }
});

showNotice($('ok'));
initDivisions(data && data.rules);

if (data) fill(data);
else {
  const now = Date.now();
  $('starts_at').value = toInput(new Date(now).toISOString());
  $('ends_at').value = toInput(new Date(now + 7 * 86400000).toISOString());
}
