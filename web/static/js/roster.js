// roster.js: the class roster page. Bulk-creates pupil accounts from the
// pasted names and builds printable join cards from the API's answer (the
// passwords are shown this once); resets one pupil's password into a card.
import { api, el } from './api.js';
import { bindForm } from './app.js';
import { translator } from './i18n.js';

const cls = JSON.parse(document.getElementById('roster-data').textContent);
const section = document.getElementById('cards-section');
const cards = document.getElementById('cards');
const status = document.getElementById('cards-status');
const t = translator('roster-msgs');
const loginURL = location.origin + '/login';

function card(p) {
  return el('article', { class: 'join-card', 'data-username': p.username },
    el('p', { class: 'muted', text: `${cls.school_name} · ${cls.name}` }),
    el('h3', { text: p.nickname }),
    el('dl', {},
      el('dt', { text: t('roster.card_site') }), el('dd', { text: loginURL }),
      el('dt', { text: t('roster.card_username') }), el('dd', { class: 'pw', text: p.username }),
      el('dt', { text: t('roster.card_password') }), el('dd', { class: 'pw', text: p.password })),
    el('p', { class: 'hint', text: t('roster.card_note') }));
}

function showCards(pupils, note) {
  cards.replaceChildren(...pupils.map(card));
  status.textContent = note;
  section.hidden = false;
  section.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

bindForm(document.getElementById('add-pupils'), (data, form) => {
  form.reset();
  showCards(data.pupils, t('roster.created', { n: data.pupils.length }));
  addRows(data.pupils);
});

document.getElementById('print-cards').addEventListener('click', () => window.print());

function bindReset(b) {
  b.addEventListener('click', async () => {
    if (!window.confirm(t('roster.reset_confirm', { name: b.dataset.nickname }))) return;
    b.disabled = true;
    try {
      const data = await api('POST', `/api/v1/classes/${cls.id}/pupils/${b.dataset.reset}/password`);
      showCards([{ nickname: b.dataset.nickname, username: b.dataset.username, password: data.password }],
        t('roster.reset_done', { name: b.dataset.nickname }));
    } catch (e) {
      status.textContent = e.message;
      section.hidden = false;
    } finally {
      b.disabled = false;
    }
  });
}

for (const b of document.querySelectorAll('button[data-reset]')) bindReset(b);

// addRows puts newly created pupils into the roster table below the cards.
function addRows(pupils) {
  const body = document.querySelector('#roster-body');
  document.querySelector('#roster-empty')?.remove();
  document.querySelector('#roster-wrap').hidden = false;
  for (const p of pupils) {
    const b = el('button', { type: 'button', class: 'secondary small', 'data-reset': p.id,
      'data-nickname': p.nickname, 'data-username': p.username, text: t('roster.reset_password') });
    bindReset(b);
    body.append(el('tr', {}, el('td', { text: p.nickname }), el('td', {}, el('code', { text: p.username })), el('td', {}, b)));
  }
}
