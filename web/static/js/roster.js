// roster.js: the class roster page. Bulk-creates pupil accounts from the
// pasted names and builds printable join cards from the API's answer (the
// passwords are shown this once); resets one pupil's password into a card.
// Prints QR login cards (the whole class or one pupil: each code is shown
// this once, earlier cards stop working) and withdraws them.
import { api, el } from './api.js';
import { bindForm } from './app.js';
import { translator } from './i18n.js';

const cls = JSON.parse(document.getElementById('roster-data').textContent);
const section = document.getElementById('cards-section');
const cards = document.getElementById('cards');
const status = document.getElementById('cards-status');
const hint = document.getElementById('cards-hint');
const passwordHint = hint.textContent;
const t = translator('roster-msgs');
const loginURL = location.origin + '/login';
const svgNS = 'http://www.w3.org/2000/svg';

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

// qrCard is a QR login card: the code (an SVG path from the server), the
// pupil's name and username.
function qrCard(p) {
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${p.qr.side} ${p.qr.side}`);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('roster.qr_label'));
  const bg = document.createElementNS(svgNS, 'rect');
  bg.setAttribute('width', p.qr.side);
  bg.setAttribute('height', p.qr.side);
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(svgNS, 'path');
  path.setAttribute('d', p.qr.path);
  svg.append(bg, path);
  return el('article', { class: 'join-card qr-card', 'data-username': p.username },
    svg,
    el('div', {},
      el('p', { class: 'muted', text: `${cls.school_name} · ${cls.name}` }),
      el('h3', { text: p.nickname }),
      el('dl', {}, el('dt', { text: t('roster.card_username') }), el('dd', { class: 'pw', text: p.username })),
      el('p', { class: 'hint', text: t('roster.qr_note') })));
}

function showCards(nodes, note, qr = false) {
  cards.replaceChildren(...nodes);
  cards.classList.toggle('qr-cards', qr);
  status.textContent = note;
  hint.textContent = qr ? hint.dataset.qr : passwordHint;
  section.hidden = false;
  // Smooth unless the reader asked the system for less motion.
  const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  section.scrollIntoView({ behavior: still ? 'auto' : 'smooth', block: 'start' });
}

function showError(e) {
  status.textContent = e.message;
  cards.replaceChildren();
  section.hidden = false;
}

// setCardState shows whether each pupil has a live card.
function setCardState(ids, live) {
  for (const id of ids) {
    const cell = document.querySelector(`[data-card-state="${id}"]`);
    if (cell) cell.textContent = t(live ? 'roster.card_live' : 'roster.card_none');
    const b = document.querySelector(`button[data-revoke-card="${id}"]`);
    if (b) b.hidden = !live;
  }
}

bindForm(document.getElementById('add-pupils'), (data, form) => {
  form.reset();
  showCards(data.pupils.map(card), t('roster.created', { n: data.pupils.length }));
  addRows(data.pupils);
});

document.getElementById('print-cards').addEventListener('click', () => window.print());

// guarded runs an action behind a confirmation, with its button disabled.
function guarded(b, question, action) {
  b.addEventListener('click', async () => {
    if (!window.confirm(question())) return;
    b.disabled = true;
    try {
      await action();
    } catch (e) {
      showError(e);
    } finally {
      b.disabled = false;
    }
  });
}

async function printQR(userIDs) {
  const data = await api('POST', `/api/v1/classes/${cls.id}/cards`, { user_ids: userIDs });
  showCards(data.cards.map(qrCard), t('roster.qr_done', { n: data.cards.length }), true);
  setCardState(data.cards.map((c) => c.id), true);
}

const rowCount = () => document.querySelectorAll('#roster-body tr').length;
const allIDs = () => [...document.querySelectorAll('[data-card-state]')].map((c) => c.dataset.cardState);

guarded(document.getElementById('qr-print-all'), () => t('roster.qr_confirm_all', { n: rowCount() }), () => printQR([]));
guarded(document.getElementById('qr-revoke-all'), () => t('roster.qr_revoke_confirm_all'), async () => {
  const data = await api('DELETE', `/api/v1/classes/${cls.id}/cards`);
  setCardState(allIDs(), false);
  showCards([], t('roster.qr_revoked', { n: data.revoked }), true);
});

function bindRow(tr) {
  const reset = tr.querySelector('button[data-reset]');
  guarded(reset, () => t('roster.reset_confirm', { name: reset.dataset.nickname }), async () => {
    const data = await api('POST', `/api/v1/classes/${cls.id}/pupils/${reset.dataset.reset}/password`);
    showCards([card({ nickname: reset.dataset.nickname, username: reset.dataset.username, password: data.password })],
      t('roster.reset_done', { name: reset.dataset.nickname }));
  });
  const one = tr.querySelector('button[data-card]');
  guarded(one, () => t('roster.qr_one_confirm', { name: one.dataset.nickname }), () => printQR([Number(one.dataset.card)]));
  const revoke = tr.querySelector('button[data-revoke-card]');
  guarded(revoke, () => t('roster.qr_revoke_one_confirm', { name: revoke.dataset.nickname }), async () => {
    const data = await api('DELETE', `/api/v1/classes/${cls.id}/pupils/${revoke.dataset.revokeCard}/card`);
    setCardState([revoke.dataset.revokeCard], false);
    showCards([], t('roster.qr_revoked', { n: data.revoked }), true);
  });
}

for (const tr of document.querySelectorAll('#roster-body tr')) bindRow(tr);

// addRows puts newly created pupils into the roster table below the cards.
function addRows(pupils) {
  const body = document.querySelector('#roster-body');
  document.querySelector('#roster-empty')?.remove();
  document.querySelector('#roster-wrap').hidden = false;
  for (const b of document.querySelectorAll('#qr-print-all, #qr-revoke-all')) b.disabled = false;
  for (const p of pupils) {
    const tr = el('tr', {}, el('td', { text: p.nickname }), el('td', {}, el('code', { text: p.username })),
      el('td', { 'data-card-state': p.id, text: t('roster.card_none') }),
      el('td', {},
        el('button', { type: 'button', class: 'secondary small', 'data-reset': p.id,
          'data-nickname': p.nickname, 'data-username': p.username, text: t('roster.reset_password') }), ' ',
        el('button', { type: 'button', class: 'secondary small', 'data-card': p.id,
          'data-nickname': p.nickname, text: t('roster.qr_one') }), ' ',
        el('button', { type: 'button', class: 'secondary small', 'data-revoke-card': p.id,
          'data-nickname': p.nickname, hidden: true, text: t('roster.qr_revoke_one') })));
    // Each cell names its column, for the stacked rows of a phone (table.stack).
    const heads = [...document.querySelectorAll('#roster-wrap thead th')].map(th => th.textContent);
    [...tr.children].forEach((td, i) => { td.dataset.label = heads[i]; });
    bindRow(tr);
    body.append(tr);
  }
}
