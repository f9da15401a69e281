// emoji.js is the emoji picker of the reply box: a grid of common emoji that puts the
// chosen one at the cursor. The arrow keys move in the grid, Enter or a click inserts,
// Esc (or Tab away) closes it and gives the focus back.

import { h, fill, $, announce } from './dom.js';
import { insert } from './format.js';
import { t as tr } from './i18n.js';

// emoji are the picker's emoji with the keys of their names (emoji.name.*), the names
// screen readers say and tooltips show.
export const emoji = [
  ['😀', 'emoji.name.grinningFace'], ['😊', 'emoji.name.smilingFace'], ['🙂', 'emoji.name.slightlySmilingFace'], ['😉', 'emoji.name.winkingFace'],
  ['😄', 'emoji.name.grinningFaceWithSmilingEyes'], ['😅', 'emoji.name.grinningFaceWithSweat'], ['😂', 'emoji.name.faceWithTearsOfJoy'], ['🤗', 'emoji.name.huggingFace'],
  ['😍', 'emoji.name.smilingFaceWithHeartEyes'], ['🥰', 'emoji.name.smilingFaceWithHearts'], ['😇', 'emoji.name.smilingFaceWithHalo'], ['😎', 'emoji.name.smilingFaceWithSunglasses'],
  ['🤔', 'emoji.name.thinkingFace'], ['😮', 'emoji.name.faceWithOpenMouth'], ['😬', 'emoji.name.grimacingFace'], ['🙁', 'emoji.name.slightlyFrowningFace'],
  ['😢', 'emoji.name.cryingFace'], ['😭', 'emoji.name.loudlyCryingFace'], ['😴', 'emoji.name.sleepingFace'], ['🙈', 'emoji.name.seeNoEvilMonkey'],
  ['👍', 'emoji.name.thumbsUp'], ['👎', 'emoji.name.thumbsDown'], ['👌', 'emoji.name.okHand'], ['👏', 'emoji.name.clappingHands'],
  ['🙌', 'emoji.name.raisingHands'], ['🙏', 'emoji.name.foldedHands'], ['💪', 'emoji.name.flexedBiceps'], ['👋', 'emoji.name.wavingHand'],
  ['❤️', 'emoji.name.redHeart'], ['💙', 'emoji.name.blueHeart'], ['⭐', 'emoji.name.star'], ['✨', 'emoji.name.sparkles'],
  ['🎉', 'emoji.name.partyPopper'], ['🎁', 'emoji.name.wrappedGift'], ['📦', 'emoji.name.package'], ['🚚', 'emoji.name.deliveryTruck'],
  ['✅', 'emoji.name.checkMark'], ['❌', 'emoji.name.crossMark'], ['⏰', 'emoji.name.alarmClock'], ['☕', 'emoji.name.hotBeverage'],
];
const cols = 8;

let ta = null;     // the text box to insert into
let range = null;  // [start, end] of the selection when the picker opened

// emojiEl is the Emoji button with its grid, for text box area.
export function emojiEl(area, disabled) {
  ta = area;
  const grid = h('div', { id: 'emoji-grid', class: 'emoji-grid', role: 'grid', 'aria-label': tr('emoji.button'), hidden: true });
  grid.addEventListener('keydown', keys);
  grid.addEventListener('focusout', (e) => {
    if (!grid.contains(e.relatedTarget) && e.relatedTarget !== $('#emoji-button')) close(false);
  });
  return h('span', { class: 'emoji-picker' },
    h('button', { type: 'button', id: 'emoji-button', class: 'tool icon-emoji', disabled, 'aria-label': tr('emoji.button'), title: tr('emoji.button'),
      'aria-haspopup': 'grid', 'aria-expanded': 'false', 'aria-controls': 'emoji-grid', onclick: toggle }),
    grid);
}

function toggle() {
  const grid = $('#emoji-grid');
  if (!grid.hidden) {
    close(true);
    return;
  }
  range = [ta.selectionStart, ta.selectionEnd];
  fill(grid, chunk(emoji, cols).map((row, r) => h('div', { role: 'row', class: 'emoji-row' },
    row.map(([e, key], c) => {
      const name = tr(key);
      return h('button', { type: 'button', role: 'gridcell', class: 'emoji', tabindex: r === 0 && c === 0 ? '0' : '-1',
        'aria-label': name, title: name, dataset: { i: String(r * cols + c) }, onclick: () => choose(e, name) }, e);
    }))));
  grid.hidden = false;
  $('#emoji-button').setAttribute('aria-expanded', 'true');
  grid.querySelector('button').focus();
}

function chunk(list, n) {
  const out = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

// close hides the grid; back gives the focus to the Emoji button.
function close(back) {
  const grid = $('#emoji-grid');
  if (!grid || grid.hidden) return;
  grid.hidden = true;
  $('#emoji-button').setAttribute('aria-expanded', 'false');
  if (back) $('#emoji-button').focus();
}

function choose(e, name) {
  close(false);
  ta.focus();
  if (range) ta.setSelectionRange(range[0], range[1]);
  insert(ta, e);
  announce(tr('emoji.inserted', { name }));
}

function keys(e) {
  const cells = [...$('#emoji-grid').querySelectorAll('button')];
  const i = cells.indexOf(document.activeElement);
  let next = i;
  switch (e.key) {
    case 'ArrowRight': next = Math.min(i + 1, cells.length - 1); break;
    case 'ArrowLeft': next = Math.max(i - 1, 0); break;
    case 'ArrowDown': next = Math.min(i + cols, cells.length - 1); break;
    case 'ArrowUp': next = i - cols >= 0 ? i - cols : i; break;
    case 'Home': next = i - (i % cols); break;
    case 'End': next = Math.min(i - (i % cols) + cols - 1, cells.length - 1); break;
    case 'Escape':
      e.preventDefault();
      e.stopPropagation();
      close(true);
      return;
    default: return;
  }
  e.preventDefault();
  if (i >= 0) cells[i].tabIndex = -1;
  cells[next].tabIndex = 0;
  cells[next].focus();
}
