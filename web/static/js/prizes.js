// prizes.js: the winner's delivery form on "my prizes" (PUT
// /api/v1/me/prizes/:id/delivery) and the organizer's prize page: the
// prize and lottery-rule rows (PUT /api/v1/manage/campaigns/:id/prizes),
// settling an ended campaign and marking a prize fulfilled.
import { api, el } from './api.js';
import { translator } from './i18n.js';

const t = translator('prizes-msgs', 'prizes.');

function fail(box, e, form) {
  box.textContent = e.message;
  box.hidden = false;
  const f = e.field && form?.querySelector(`[name="${CSS.escape(e.field.split('.').pop())}"]`);
  if (f && form.dataset.delivery) f.setAttribute('aria-invalid', 'true');
}

// --- My prizes: the delivery forms.
for (const form of document.querySelectorAll('form[data-delivery]')) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const box = form.querySelector('.form-error');
    const saved = form.querySelector('[data-saved]');
    for (const x of form.querySelectorAll('[aria-invalid]')) x.removeAttribute('aria-invalid');
    box.hidden = true;
    saved.hidden = true;
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      await api('PUT', `/api/v1/me/prizes/${encodeURIComponent(form.dataset.delivery)}/delivery`, {
        name: form.elements.name.value, phone: form.elements.phone.value, address: form.elements.address.value });
      saved.hidden = false;
      btn.textContent = t('delivery_update');
    } catch (e) {
      fail(box, e, form);
    } finally {
      btn.disabled = false;
    }
  });
}

// --- The organizer's prize page.
const form = document.getElementById('prize-form');
if (form) {
  const def = JSON.parse(document.getElementById('prize-def').textContent);
  const locked = form.dataset.locked === 'true';
  const prizeRows = document.getElementById('prize-rows');
  const ruleRows = document.getElementById('rule-rows');
  const divs = def.divisions || [];

  const division = (value, label) => {
    if (divs.length === 0) return el('input', { type: 'hidden', name: 'division', value: '' });
    const s = el('select', { name: 'division', 'aria-label': label });
    if (label === t('rule_division')) s.append(el('option', { value: '', text: t('all_divisions') }));
    for (const d of divs) s.append(el('option', { value: d, text: d, selected: d === value }));
    return s;
  };
  const field = (label, input) => el('label', { class: 'field-inline' }, label, input);
  const remove = (row) => locked ? null : el('button', { type: 'button', class: 'link', text: t('remove'), onclick: () => row.remove() });

  const addPrize = (p = { kind: 'rank', division: divs[0] || '', name: '', count: 1 }) => {
    const row = el('div', { class: 'prize-row', 'data-prize-row': '' });
    const kind = el('select', { name: 'kind' },
      el('option', { value: 'rank', text: t('kind_rank'), selected: p.kind === 'rank' }),
      el('option', { value: 'lottery', text: t('kind_lottery'), selected: p.kind === 'lottery' }));
    row.append(field(t('kind'), kind), field(t('name'), el('input', { name: 'name', value: p.name, maxlength: 60, required: true })),
      field(t('count'), el('input', { name: 'count', type: 'number', min: 1, max: 10000, value: p.count, inputmode: 'numeric' })));
    if (divs.length) row.append(field(t('division'), division(p.division, t('division'))));
    else row.append(division('', ''));
    const rm = remove(row);
    if (rm) row.append(rm);
    prizeRows.append(row);
  };
  const addRule = (r = { division: '', basis: 'right', min: 0, per: 'person' }) => {
    const row = el('div', { class: 'prize-row', 'data-rule-row': '' });
    if (divs.length) row.append(field(t('rule_division'), division(r.division, t('rule_division'))));
    else row.append(division('', ''));
    row.append(
      field(t('basis'), el('select', { name: 'basis' },
        el('option', { value: 'right', text: t('basis_right'), selected: r.basis === 'right' }),
        el('option', { value: 'score', text: t('basis_score'), selected: r.basis === 'score' }))),
      field(t('min'), el('input', { name: 'min', type: 'number', min: 0, max: 1000000, value: r.min, inputmode: 'numeric' })),
      field(t('per'), el('select', { name: 'per' },
        el('option', { value: 'person', text: t('per_person_short'), selected: r.per === 'person' }),
        el('option', { value: 'attempt', text: t('per_attempt_short'), selected: r.per === 'attempt' }))));
    const rm = remove(row);
    if (rm) row.append(rm);
    ruleRows.append(row);
  };
  def.prizes.forEach((p) => addPrize(p));
  def.eligibility.forEach((r) => addRule(r));
  if (locked) for (const x of form.querySelectorAll('input, select')) x.disabled = true;
  document.querySelector('[data-add-prize]')?.addEventListener('click', () => addPrize());
  document.querySelector('[data-add-rule]')?.addEventListener('click', () => addRule());

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const box = form.querySelector('.form-error');
    const saved = form.querySelector('[data-saved]');
    box.hidden = true;
    saved.hidden = true;
    const v = (row, n) => row.querySelector(`[name="${n}"]`).value;
    const body = {
      prizes: [...prizeRows.querySelectorAll('[data-prize-row]')].map((r) => ({
        kind: v(r, 'kind'), division: v(r, 'division'), name: v(r, 'name'), count: Number(v(r, 'count')) })),
      eligibility: [...ruleRows.querySelectorAll('[data-rule-row]')].map((r) => ({
        division: v(r, 'division'), basis: v(r, 'basis'), min: Number(v(r, 'min')), per: v(r, 'per') })),
    };
    try {
      await api('PUT', `/api/v1/manage/campaigns/${encodeURIComponent(form.dataset.campaign)}/prizes`, body);
      saved.hidden = false;
    } catch (e) {
      fail(box, e);
    }
  });
}

const winnersError = document.querySelector('[data-winners-error]');
for (const b of document.querySelectorAll('[data-fulfil], [data-settle]')) {
  b.addEventListener('click', async () => {
    const campaign = form?.dataset.campaign;
    b.disabled = true;
    try {
      if (b.dataset.settle) await api('POST', `/api/v1/manage/campaigns/${encodeURIComponent(campaign)}/settle`);
      else await api('POST', `/api/v1/manage/campaigns/${encodeURIComponent(campaign)}/winners/${encodeURIComponent(b.dataset.fulfil)}/fulfil`);
      location.reload();
    } catch (e) {
      fail(winnersError, e);
      b.disabled = false;
    }
  });
}
