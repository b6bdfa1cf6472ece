// audience_picker.js: the organizer form's chooser of schools and classes
// (rules.schools, rules.classes). The schools of the organizer's scope come
// embedded in the page (#aud-schools) and are filtered by district and by
// name as one types; a school's classes are fetched from
// GET /api/v1/classes?school_id= when its "choose classes" button opens
// them. Every control is a native checkbox, button, select or search box, so
// the picker works by touch and by keyboard alone; what is chosen is listed
// as chips (#aud-picked, rendered by the server for a saved campaign) with a
// remove button each. Names are always set as text, never as HTML.
import { api, el } from './api.js';

const SHOWN = 30; // schools listed at once; typing narrows the rest

export function audiencePicker(t) {
  const $ = (id) => document.getElementById(id);
  const schools = JSON.parse($('aud-schools')?.textContent || 'null') || [];
  const picked = { school: new Map(), class: new Map() };
  for (const li of $('aud-picked').querySelectorAll('[data-kind]')) picked[li.dataset.kind].set(Number(li.dataset.id), li.dataset.name);
  const classesOf = new Map(); // school id → its classes, once fetched

  function drawPicked() {
    const chips = [];
    for (const kind of ['school', 'class']) {
      for (const [id, name] of picked[kind]) {
        chips.push(el('li', { class: 'chip', 'data-kind': kind, 'data-id': String(id), 'data-name': name },
          el('span', { class: 'tag', text: t(`campaign.aud_${kind}_tag`) }), ' ', name, ' ',
          el('button', { type: 'button', class: 'small', 'data-unpick': '', 'aria-label': t('campaign.aud_remove', { name }), text: '×' })));
      }
    }
    $('aud-picked').replaceChildren(...chips);
    $('aud-none').hidden = chips.length > 0;
  }

  function pick(kind, id, name, on) {
    if (on) picked[kind].set(id, name); else picked[kind].delete(id);
    drawPicked();
    for (const b of $('aud-results').querySelectorAll(`input[data-kind="${kind}"][data-id="${id}"]`)) b.checked = on;
  }

  function box(kind, id, name) {
    const b = el('input', { type: 'checkbox', 'data-kind': kind, 'data-id': String(id) });
    b.checked = picked[kind].has(id);
    b.addEventListener('change', () => pick(kind, id, name, b.checked));
    return b;
  }

  async function toggleClasses(s, btn, list) {
    const open = btn.getAttribute('aria-expanded') !== 'true';
    btn.setAttribute('aria-expanded', String(open));
    list.hidden = !open;
    if (!open || list.childElementCount) return;
    list.append(el('li', { class: 'muted', text: t('campaign.loading') }));
    try {
      if (!classesOf.has(s.id)) classesOf.set(s.id, (await api('GET', `/api/v1/classes?school_id=${s.id}`)).classes);
      const cls = classesOf.get(s.id);
      list.replaceChildren(...(cls.length ? cls.map(c => el('li', {},
        el('label', { class: 'check' }, box('class', c.id, `${s.name} · ${c.name}`), ' ', c.name)))
        : [el('li', { class: 'muted', text: t('campaign.aud_no_classes') })]));
    } catch (e) {
      list.replaceChildren(el('li', { class: 'form-error', text: e.message }));
    }
  }

  function schoolRow(s) {
    const list = el('ul', { class: 'plain aud-classes', id: `aud-c-${s.id}`, hidden: true });
    const more = el('button', { type: 'button', class: 'small', 'aria-expanded': 'false', 'aria-controls': list.id,
      'aria-label': t('campaign.aud_classes_of', { school: s.name }), 'data-classes': String(s.id), text: t('campaign.aud_classes') });
    more.addEventListener('click', () => toggleClasses(s, more, list));
    return el('li', { class: 'aud-school', 'data-school': String(s.id) },
      el('label', { class: 'check' }, box('school', s.id, s.name), ' ', s.name,
        el('span', { class: 'sr-only', text: t('campaign.aud_whole_school') }), ' ', el('span', { class: 'muted', text: s.district })),
      more, list);
  }

  function drawResults() {
    const d = Number($('aud-district').value || 0);
    const q = $('aud-q').value.trim().toLowerCase();
    const hits = schools.filter(s => (!d || s.district_id === d) && (!q || s.name.toLowerCase().includes(q)));
    $('aud-count').textContent = !hits.length ? t('campaign.aud_no_match')
      : hits.length > SHOWN ? t('campaign.aud_more', { n: hits.length, shown: SHOWN }) : t('campaign.aud_count', { n: hits.length });
    $('aud-results').replaceChildren(...hits.slice(0, SHOWN).map(schoolRow));
  }

  // Removing a chip moves the focus to the next chip (or the search box),
  // so a keyboard user does not lose their place.
  $('aud-picked').addEventListener('click', (ev) => {
    const li = ev.target.closest('[data-unpick]')?.closest('[data-kind]');
    if (!li) return;
    const at = [...$('aud-picked').children].indexOf(li);
    pick(li.dataset.kind, Number(li.dataset.id), li.dataset.name, false);
    const chips = $('aud-picked').children;
    (chips[Math.min(at, chips.length - 1)]?.querySelector('[data-unpick]') || $('aud-q')).focus();
  });
  $('aud-q').addEventListener('input', drawResults);
  $('aud-q').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') ev.preventDefault(); }); // not a form submit
  $('aud-district').addEventListener('change', drawResults);
  drawResults();

  return { schools: () => [...picked.school.keys()], classes: () => [...picked.class.keys()] };
}
