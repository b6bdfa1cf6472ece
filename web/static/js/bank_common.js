// bank_common.js: what the bank pages share — their messages and the
// participant's view of a question (used by the editor's live preview).
import { el } from './api.js';
import { translator } from './i18n.js';

// messages reads the page's bank.* messages; t(key, params) fills {names}
// and plural forms (i18n.js).
export const messages = () => translator('bank-msgs', 'bank.');

export const letter = (i) => String.fromCharCode(65 + i);

// renderQuestion builds a question as a participant sees it: stem, image,
// option buttons; the answer and explanation only in the "after" part.
export function renderQuestion(t, q) {
  if (!q.stem) return el('p', { class: 'muted', text: t('preview_empty') });
  const opts = (q.options || []).filter((o) => o !== '');
  const box = el('div', { class: 'bank-preview-q', lang: q.lang || 'zh-CN' });
  box.append(el('p', { class: 'muted', text: t('type.' + q.type) }));
  box.append(el('p', { class: 'bank-preview-stem', 'data-testid': 'preview-stem', text: q.stem }));
  if (q.image_url) box.append(el('img', { src: q.image_url, alt: '', class: 'bank-preview-img' }));
  if (q.type === 'multiple') box.append(el('p', { class: 'hint', text: t('preview_multiple') }));
  box.append(el('ol', { class: 'plain bank-preview-options' },
    ...opts.map((o, i) => el('li', {}, el('button', { type: 'button', class: 'secondary', tabindex: '-1' }, `${letter(i)}. ${o}`)))));
  const answer = (q.answer || []).filter((i) => i < opts.length).map(letter).join(', ');
  const after = el('div', { class: 'bank-preview-after' },
    el('p', { class: 'muted', text: t('preview_after') }),
    el('p', { text: t('preview_answer', { answer: answer || '—' }) }));
  if (q.explanation) after.append(el('p', { text: q.explanation }));
  box.append(after);
  return box;
}
