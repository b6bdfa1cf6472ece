// manage_divisions.js: the divisions (组别) and practice round (练习) part
// of the organizer's campaign form (manage_campaign.js sends it): one row
// per division with its key, names, membership rule (age bands, class
// grades, occupation groups), questions and pass mark; a division's own
// quotas, set through the API, are kept as they were.
const $ = (id) => document.getElementById(id);

function addDivision(d = {}) {
  const row = $('division-row').content.firstElementChild.cloneNode(true);
  for (const f of row.querySelectorAll('[data-d]')) if (d[f.dataset.d] !== undefined) f.value = d[f.dataset.d];
  for (const b of row.querySelectorAll('[data-band]')) b.checked = (d.age_bands || []).includes(b.value);
  for (const b of row.querySelectorAll('[data-occ]')) b.checked = (d.occupations || []).includes(b.value);
  if (d.quotas) row.dataset.quotas = JSON.stringify(d.quotas);
  row.querySelector('[data-remove-division]').addEventListener('click', () => row.remove());
  $('divisions').append(row);
}

// initDivisions wires the add button and fills the saved rules r (null: new).
export function initDivisions(r) {
  $('add-division').addEventListener('click', () => addDivision());
  for (const d of (r && r.divisions) || []) addDivision(d);
  const p = (r && r.practice) || {};
  const f = $('camp-form').elements;
  f['rules.practice.enabled'].checked = !!p.enabled;
  f['rules.practice.required'].checked = !!p.required;
  f['rules.practice.questions'].value = p.questions || 0;
  f['rules.division_choice'].checked = !!(r && r.division_choice);
}

// divisionRules is the form's divisions, choice and practice as rules fields.
export function divisionRules() {
  const f = $('camp-form').elements;
  const int = (v) => parseInt(v || '0', 10);
  const divisions = [...$('divisions').querySelectorAll('[data-division]')].map((row) => {
    const d = {};
    for (const x of row.querySelectorAll('[data-d]')) {
      d[x.dataset.d] = x.type === 'number' ? int(x.value) : x.value.trim();
    }
    d.age_bands = [...row.querySelectorAll('[data-band]:checked')].map((b) => b.value);
    d.occupations = [...row.querySelectorAll('[data-occ]:checked')].map((b) => b.value);
    if (row.dataset.quotas) d.quotas = JSON.parse(row.dataset.quotas);
    return d;
  });
  return {
    divisions,
    division_choice: f['rules.division_choice'].checked,
    practice: { enabled: f['rules.practice.enabled'].checked, required: f['rules.practice.required'].checked,
      questions: int(f['rules.practice.questions'].value) },
  };
}

// markDivision marks the field the server named ("rules.divisions.i.name")
// and focuses it; false when the name is not a division's.
export function markDivision(name) {
  const m = /^rules\.divisions\.(\d+)\.(\w+)$/.exec(name || '');
  if (!m) return false;
  const row = $('divisions').querySelectorAll('[data-division]')[Number(m[1])];
  const f = row && (row.querySelector(`[data-d=${m[2]}]`) || row.querySelector('input'));
  if (f) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
  return true;
}
