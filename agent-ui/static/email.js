// email.js shows the HTML of an email in a sandboxed frame. The HTML was sanitized when
// it was stored; here it is reworked in an inert document (links open a new tab, inline
// images become data: URLs, remote images wait until the agent asks for them) and shown
// in an <iframe sandbox> without scripts or an origin, behind a CSP of its own. This is
// the console's one use of HTML parsing (TestNoInlineCode holds it to this file).

import { h } from './dom.js';
import { t as tr } from './i18n.js';

const remoteShown = new Set(); // message ids whose remote images the agent chose to load
const inlineImages = new Map(); // attachment id -> promise of a data: URL, or '' when unusable

// forgetImages drops the inline images fetched for the ticket shown before.
export function forgetImages() {
  inlineImages.clear();
}

// forgetEmail drops the images and the agent's choices to load remote ones, at sign-out.
export function forgetEmail() {
  inlineImages.clear();
  remoteShown.clear();
}

// emailDoc wraps prepared HTML for a sandboxed frame. The frame has no allow-scripts and
// no allow-same-origin (only popups, so links open in a new tab), and its own CSP forbids
// every fetch but data: images and, when the agent asked for them, https: images.
function emailDoc(html, remote) {
  return '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:${remote ? ' https:' : ''}; style-src 'unsafe-inline'">` +
    '<meta name="referrer" content="no-referrer"><base target="_blank">' +
    '</head><body>' + html + '</body></html>';
}

const attachmentPath = /^\/api\/v1\/attachments\/(\d+)$/;
const inlineTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const maxInline = 5 << 20;

// inlineImage fetches an attachment with the console's session and returns it as a data:
// URL: the frame has no origin, so it could not send the session cookie itself.
function inlineImage(id) {
  if (!inlineImages.has(id)) {
    inlineImages.set(id, fetch('/api/v1/attachments/' + id, { credentials: 'same-origin' })
      .then((res) => (res.ok ? res.blob() : null))
      .then((blob) => {
        if (!blob || blob.size > maxInline || !inlineTypes.includes(blob.type.split(';')[0].trim())) return '';
        return new Promise((resolve) => {
          const r = new FileReader();
          r.onload = () => resolve(String(r.result));
          r.onerror = () => resolve('');
          r.readAsDataURL(blob);
        });
      })
      .catch(() => ''));
  }
  return inlineImages.get(id);
}

// prepareEmail readies sanitized HTML for its frame: links open a new tab without opener
// or referrer, inline images become data: URLs and remote images are left out unless
// remote is true, so that a tracking pixel learns nothing. It also counts the remote
// images, for the button that loads them. DOMParser builds an inert document: nothing in
// it loads or runs.
async function prepareEmail(html, remote) {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  for (const el of doc.body.querySelectorAll('meta, base, link')) el.remove();
  for (const a of doc.body.querySelectorAll('a[href]')) {
    if (!/^(https?|mailto|tel):/i.test(a.getAttribute('href').trim())) a.removeAttribute('href');
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  let remotes = 0;
  const waits = [];
  for (const img of doc.body.querySelectorAll('img')) {
    img.removeAttribute('srcset');
    const src = (img.getAttribute('src') || '').trim();
    const inline = attachmentPath.exec(src);
    if (inline) {
      waits.push(inlineImage(inline[1]).then((url) => { if (url) img.src = url; else img.removeAttribute('src'); }));
    } else if (/^https?:\/\//i.test(src)) {
      remotes++;
      if (!remote) img.removeAttribute('src');
    } else if (!/^data:image\//i.test(src)) {
      img.removeAttribute('src'); // cid: links not yet pointed at an attachment, relative paths
    }
  }
  await Promise.all(waits);
  return { html: doc.body.innerHTML, remotes };
}

// fit makes frame as tall as the mail, so that nothing in it scrolls or is cut off. The
// frame itself has no origin, so the console cannot look inside it; the mail is laid out
// once more in a throwaway frame of the same width that has the console's origin but, like
// the shown one, no scripts and a CSP that fetches nothing (remote images, which it does
// not load, count with the size their attributes give).
function fit(frame, html) {
  if (!frame.isConnected || !frame.clientWidth) return;
  const probe = h('iframe', { sandbox: 'allow-same-origin', 'aria-hidden': 'true', tabindex: '-1', class: 'email-probe' });
  probe.style.width = frame.getBoundingClientRect().width + 'px';
  probe.addEventListener('load', () => {
    const d = probe.contentDocument;
    if (d && d.documentElement && probe.srcdoc) {
      const border = frame.offsetHeight - frame.clientHeight;
      frame.style.height = Math.max(60, Math.min(20000, d.documentElement.scrollHeight + border)) + 'px';
      frame.dataset.fitted = 'true';
      probe.remove();
    }
  });
  probe.srcdoc = emailDoc(html, false);
  document.body.append(probe);
}

// measured holds, per email frame, its mail's prepared HTML and the width it was last
// measured at; resized measures a frame again when its width changes, and forgets frames
// that left the page (another ticket opened).
const measured = new WeakMap();
const resized = new ResizeObserver((entries) => {
  for (const { target: frame } of entries) {
    const m = measured.get(frame);
    if (!frame.isConnected || !m) {
      resized.unobserve(frame);
      continue;
    }
    if (frame.clientWidth && frame.clientWidth !== m.width && m.html()) {
      m.width = frame.clientWidth;
      fit(frame, m.html());
    }
  }
});

// emailBody shows message m's HTML in its frame, with text (its plain-text element)
// hidden behind a "Show plain text" switch and a button to load remote images.
export function emailBody(m, text) {
  const lines = (m.text || '').split('\n').length;
  const frame = h('iframe', {
    class: 'email-frame', sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer',
    title: tr('email.frameTitle', { name: m.author && m.author.name ? m.author.name : tr('message.theCustomer') }),
  });
  // Until it is measured, the frame guesses its height from the text.
  frame.style.height = Math.min(640, Math.max(120, lines * 22 + 60)) + 'px';
  // An iframe loads about:blank when inserted; only the message's own document counts.
  frame.addEventListener('load', () => { if (frame.srcdoc) frame.dataset.loaded = 'true'; });
  const images = h('button', { type: 'button', class: 'link small load-images', hidden: true }, tr('email.loadImages'));
  let doc = null;
  const show = async () => {
    const remote = remoteShown.has(m.id);
    doc = await prepareEmail(m.html, remote);
    frame.dataset.loaded = 'false';
    frame.dataset.remote = remote ? 'shown' : doc.remotes ? 'blocked' : 'none';
    frame.srcdoc = emailDoc(doc.html, remote);
    images.hidden = remote || doc.remotes === 0;
    fit(frame, doc.html);
  };
  // A new width reflows the mail: measure it again (one observer for every frame).
  measured.set(frame, { html: () => (doc ? doc.html : ''), width: 0 });
  resized.observe(frame);
  images.addEventListener('click', () => {
    remoteShown.add(m.id);
    show();
  });
  show();
  text.hidden = true;
  const toggle = h('button', { type: 'button', class: 'link small', 'aria-pressed': 'false' }, tr('email.plain'));
  toggle.addEventListener('click', () => {
    const plain = text.hidden;
    text.hidden = !plain;
    frame.hidden = plain;
    toggle.textContent = tr(plain ? 'email.formatted' : 'email.plain');
    toggle.setAttribute('aria-pressed', String(plain));
  });
  return h('div', { class: 'html-body' }, frame, text, h('div', { class: 'email-actions' }, toggle, images));
}
