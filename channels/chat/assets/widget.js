/*
 * Parley chat widget. A shop embeds it with
 *   <script src="https://desk.example/widget.js" data-inbox="INBOX_ID" async></script>
 * Optional attributes: data-name, data-lang (en, de, fr or es: the widget's language,
 * whatever the inbox and the page say), and for a signed-in shopper data-identity-email plus
 * data-identity-hash = hex(HMAC-SHA256(identity_secret, email)) computed by the shop's server.
 * Everything is drawn in a shadow root with its own styles; all text is set with textContent.
 * The widget's own texts come from the message catalogue of one language, which
 * /widget/config sends with the inbox's settings; the shop's own texts (the greeting) are
 * shown as the shop wrote them.
 */
(function () {
  'use strict';
  var script = document.currentScript || document.querySelector('script[data-inbox][src*="widget.js"]');
  if (!script || window.ParleyChat) return;
  var inbox = script.getAttribute('data-inbox') || '';
  if (!/^[0-9]+$/.test(inbox)) {
    console.warn('Parley chat: data-inbox must be the id of a chat inbox');
    return;
  }
  var base = new URL(script.src, location.href);
  var httpBase = base.origin;
  var wsURL = (base.protocol === 'https:' ? 'wss://' : 'ws://') + base.host + '/widget/ws?inbox=' + inbox;
  var prefix = 'parley.chat.' + base.host + '.' + inbox + '.';
  var identity = null;
  if (script.getAttribute('data-identity-email')) {
    identity = { email: script.getAttribute('data-identity-email'), hash: script.getAttribute('data-identity-hash') || '' };
  }

  // S holds the texts of the widget's language (i18n/catalogue on the server); t fills a
  // text's {placeholders}, plural picks the ".one" or ".other" form for a count.
  var S = {};
  var lang = 'en';
  function t(key, vars) {
    var s = S.hasOwnProperty(key) ? S[key] : key;
    for (var k in vars || {}) s = s.split('{' + k + '}').join(String(vars[k]));
    return s;
  }
  function plural(key, n, vars) {
    vars = vars || {};
    vars.count = n;
    return t(key + (n === 1 ? '.one' : '.other'), vars);
  }
  // errText is what the shopper reads about an error frame or response: the server's own
  // words in English, the catalogue's text for the error's code in other languages.
  function errText(e) {
    e = e || {};
    if (lang === 'en' && e.message) return e.message;
    return S.hasOwnProperty('error.' + e.code) ? t('error.' + e.code) : t('error.generic');
  }

  function load(k) {
    try { return JSON.parse(localStorage.getItem(prefix + k)); } catch (e) { return null; }
  }
  function save(k, v) {
    try { localStorage.setItem(prefix + k, JSON.stringify(v)); } catch (e) { /* private mode */ }
  }
  function sessionFlag(k, v) {
    try {
      if (v === undefined) return sessionStorage.getItem(prefix + k) === '1';
      sessionStorage.setItem(prefix + k, v ? '1' : '0');
    } catch (e) { return false; }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  var st = {
    config: null,
    token: load('token'),
    pending: load('pending') || [],
    ws: null,
    welcomed: false,
    stopped: false,
    retries: 0,
    timer: 0,
    open: false,
    unread: 0,
    email: '',
    emailVerified: false,
    emailRequired: false,
    tracking: false,
    lookupBusy: false,
    csat: 0,
    csatState: '',
    csatRating: 0,
    shown: {},
    typingSent: 0,
    typingTimer: 0,
    href: location.href
  };

  var CSS = [
    ':host{all:initial}',
    '*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}',
    '.launcher{position:fixed;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;',
    'background:var(--pc);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646;display:flex;align-items:center;justify-content:center}',
    '.launcher svg{width:28px;height:28px;fill:currentColor}',
    '.right{right:20px}.left{left:20px}',
    '.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#dc2626;',
    'color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px}',
    '.panel{position:fixed;bottom:88px;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);',
    'background:#fff;color:#111827;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;',
    'overflow:hidden;z-index:2147483647;font-size:14px;line-height:1.4}',
    '[hidden]{display:none!important}',
    '.head{background:var(--pc);color:#fff;padding:14px 16px;display:flex;align-items:flex-start;gap:8px}',
    '.head .t{flex:1}.head h2{margin:0;font-size:16px;font-weight:600}.head p{margin:4px 0 0;font-size:13px}',
    '.x{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:0 4px}',
    '.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}',
    '.msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}',
    '.msg.in{align-self:flex-end;background:var(--pc);color:#fff;border-bottom-right-radius:4px}',
    '.msg.out{align-self:flex-start;background:#e5e7eb;color:#111827;border-bottom-left-radius:4px}',
    '.who{font-size:11px;opacity:.7;margin-bottom:2px}',
    '.file{font-size:13px;opacity:.95}',
    '.state{font-size:11px;opacity:.75;margin-top:3px}',
    '.msg.failed{background:#fee2e2;color:#991b1b}',
    '.typing{padding:0 14px 6px;font-size:12px;color:#4b5563;background:#f9fafb}',
    '.notice{padding:8px 12px;font-size:13px;background:#fef3c7;color:#92400e}',
    'form{margin:0}',
    '.contact{padding:12px;display:flex;flex-direction:column;gap:8px;border-top:1px solid #e5e7eb}',
    '.contact p{margin:0;font-size:13px;color:#374151}',
    'input,textarea{font:inherit;font-size:14px;border:1px solid #d1d5db;border-radius:8px;padding:8px;width:100%;color:#111827;background:#fff}',
    '.compose{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb;align-items:flex-end}',
    '.compose textarea{resize:none;height:40px;max-height:120px}',
    'button.b{border:0;border-radius:8px;background:var(--pc);color:#fff;padding:9px 12px;cursor:pointer;font-size:14px}',
    'button.a{border:1px solid #d1d5db;background:#fff;border-radius:8px;padding:8px 10px;cursor:pointer;font-size:16px;color:#374151;display:inline-flex;align-items:center}',
    'svg.line{width:18px;height:18px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}',
    'button:disabled{opacity:.5;cursor:default}',
    '.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}',
    '.demo{font-size:11px;text-align:center;color:#4b5563;padding:0 0 6px;background:#fff}',
    '.tools{display:flex;justify-content:flex-end;padding:6px 10px;border-bottom:1px solid #e5e7eb;background:#fff}',
    'button.l{border:0;background:transparent;color:var(--pc);cursor:pointer;font-size:13px;padding:2px 4px;text-decoration:underline}',
    '.orders{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f9fafb}',
    '.orders h3{margin:0;font-size:15px}',
    '.lookup{display:flex;flex-direction:column;gap:8px}',
    '.lookup label{font-size:13px;color:#374151;display:flex;flex-direction:column;gap:3px}',
    '.omsg{font-size:13px;color:#92400e;margin:0}',
    '.omsg.bad{color:#991b1b}',
    '.order{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:10px 12px}',
    '.order .top{display:flex;justify-content:space-between;gap:8px;align-items:baseline}',
    '.ostatus{font-size:12px;font-weight:600;border-radius:9px;padding:1px 8px;background:#e0e7ff;color:#3730a3}',
    '.odate{font-size:12px;color:#6b7280}',
    '.order ul{list-style:none;margin:8px 0;padding:0;font-size:13px}',
    '.order li,.sum div{display:flex;justify-content:space-between;gap:8px}',
    '.sum{font-size:13px;border-top:1px solid #e5e7eb;padding-top:6px;color:#374151}',
    '.sum .ototal{font-weight:600;color:#111827}',
    '.otrack{font-size:13px;margin-top:6px}',
    '.offer{align-self:stretch;background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:8px 12px;display:flex;gap:8px;align-items:center;justify-content:space-between}',
    '.offer p{margin:0;font-size:13px;color:#374151}.offer .b{white-space:nowrap}',
    '.otrack a{color:var(--pc)}',
    '.csat{padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff;display:flex;flex-direction:column;gap:8px}',
    '.csat p{margin:0;font-size:13px;color:#374151}.csat .cq{font-weight:600;color:#111827}',
    '.rates{display:flex;gap:4px;margin:0;padding:0;border:0}',
    '.rate{flex:1;border:1px solid #d1d5db;background:#fff;border-radius:8px;padding:5px 2px;cursor:pointer;',
    'display:flex;flex-direction:column;align-items:center;gap:1px;color:#111827;font-size:15px}',
    '.rate small{font-size:10px;color:#6b7280}',
    '.rate[aria-pressed="true"]{background:var(--pc);border-color:var(--pc);color:#fff}',
    '.rate[aria-pressed="true"] small{color:#fff}',
    '.csat .cerr{color:#991b1b}'
  ].join('');

  function h(tag, props, kids) {
    var e = document.createElement(tag);
    if (props) {
      for (var k in props) {
        if (k === 'text') e.textContent = props[k];
        else if (k === 'class') e.className = props[k];
        else e.setAttribute(k, props[k]);
      }
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  // icon draws an SVG path: the widget needs no emoji font on the shopper's machine.
  var CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z';
  var CLIP = 'M21 11l-9 9a6 6 0 0 1-8.5-8.5l9-9a4 4 0 0 1 5.7 5.7l-9 9a2 2 0 0 1-2.9-2.9l8.3-8.3';
  function icon(d, cls) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    if (cls) svg.setAttribute('class', cls);
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d || CHAT);
    svg.appendChild(p);
    return svg;
  }

  var ui = {};

  function build(cfg) {
    var host = h('div', { id: 'parley-chat', lang: lang });
    host.style.setProperty('--pc', cfg.color);
    var root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(h('style', { text: CSS }));
    }
    var side = cfg.position === 'left' ? 'left' : 'right';
    ui.badge = h('span', { class: 'badge', hidden: '' });
    ui.launcher = h('button', { class: 'launcher ' + side, type: 'button', 'aria-label': t('launcher'),
      'aria-expanded': 'false', 'aria-controls': 'parley-panel' }, [icon(), ui.badge]);
    ui.title = h('h2', { text: cfg.greeting, tabindex: '-1' });
    ui.status = h('p');
    ui.close = h('button', { class: 'x', type: 'button', 'aria-label': t('close'), text: '\u00d7' });
    ui.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
    ui.typing = h('div', { class: 'typing', hidden: '', text: t('typing') });
    ui.say = h('p', { class: 'sr', role: 'status', 'aria-live': 'polite' });
    ui.notice = h('div', { class: 'notice', role: 'status', hidden: '' });
    ui.contactText = h('p');
    ui.name = h('input', { type: 'text', placeholder: t('contact.name'), 'aria-label': t('contact.name'), maxlength: '200', autocomplete: 'name' });
    ui.email = h('input', { type: 'email', placeholder: t('contact.email'), 'aria-label': t('contact.email'), maxlength: '320', autocomplete: 'email', required: '' });
    ui.contact = h('form', { class: 'contact', hidden: '' }, [ui.contactText, ui.name, ui.email,
      h('button', { class: 'b', type: 'submit', text: t('contact.save') })]);
    ui.text = h('textarea', { placeholder: t('message.placeholder'), maxlength: '5000', 'aria-label': t('message') });
    ui.file = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf', hidden: '' });
    ui.attach = h('button', { class: 'a', type: 'button', 'aria-label': t('attach') }, [icon(CLIP, 'line')]);
    ui.send = h('button', { class: 'b', type: 'submit', text: t('send') });
    ui.compose = h('form', { class: 'compose' }, [ui.text, ui.file, ui.attach, ui.send]);
    ui.track = h('button', { class: 'l track', type: 'button', text: t('track') });
    buildOrders();
    buildCSAT();
    ui.panel = h('div', { class: 'panel ' + side, id: 'parley-panel', role: 'dialog', 'aria-label': t('panel'), hidden: '' }, [
      h('div', { class: 'head' }, [h('div', { class: 't' }, [ui.title, ui.status]), ui.close]),
      h('div', { class: 'tools' }, [ui.track]),
      ui.log, ui.orders, ui.typing, ui.csat, ui.notice, ui.contact, ui.compose,
      cfg.demo ? h('div', { class: 'demo', text: t('demo') }) : null, ui.say
    ]);
    root.appendChild(ui.launcher);
    root.appendChild(ui.panel);
    document.body.appendChild(host);

    ui.launcher.addEventListener('click', function () { st.open ? closePanel() : openPanel(); });
    ui.close.addEventListener('click', function () { closePanel(); ui.launcher.focus(); });
    // Esc closes the chat from anywhere in it, and the keyboard goes back to the launcher.
    ui.panel.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { ev.preventDefault(); closePanel(); ui.launcher.focus(); }
    });
    ui.compose.addEventListener('submit', function (ev) { ev.preventDefault(); sendText(); });
    ui.text.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); sendText(); }
    });
    ui.text.addEventListener('input', typing);
    ui.attach.addEventListener('click', function () { ui.file.click(); });
    ui.file.addEventListener('change', function () {
      var f = ui.file.files && ui.file.files[0];
      ui.file.value = '';
      if (f) upload(f);
    });
    ui.track.addEventListener('click', function () { showTracking(!st.tracking); });
    ui.lookup.addEventListener('submit', function (ev) { ev.preventDefault(); lookupOrder(); });
    ui.contact.addEventListener('submit', function (ev) {
      ev.preventDefault();
      send({ type: 'contact', name: ui.name.value, email: ui.email.value });
    });
    setStatus();
  }

  function setStatus() {
    var online = st.config.online;
    ui.status.textContent = online ? t('status.online') : t('status.offline');
    var needForm = st.emailRequired || (!online && !st.email);
    ui.contact.hidden = !needForm || !st.welcomed || st.tracking;
    ui.compose.hidden = st.tracking;
    ui.contactText.textContent = st.emailRequired ? t('contact.required') : t('contact.offline');
    ui.csat.hidden = !st.csatState || st.tracking;
    var blocked = !st.welcomed || st.emailRequired || st.tracking;
    ui.text.disabled = blocked;
    ui.send.disabled = blocked;
    ui.attach.disabled = blocked;
  }

  function notice(text) {
    ui.notice.textContent = text || '';
    ui.notice.hidden = !text;
  }

  function openPanel() {
    st.open = true;
    sessionFlag('open', true);
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    st.unread = 0;
    showUnread();
    if (!st.ws) connect();
    scrollDown();
    // Into the panel: the message box when it takes text, else the panel's heading.
    if (!ui.text.disabled) ui.text.focus(); else ui.title.focus();
  }

  function closePanel() {
    st.open = false;
    sessionFlag('open', false);
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
  }

  // showUnread shows the count of replies that came while the chat was closed, on the
  // launcher and in its name, which screen readers say.
  function showUnread() {
    ui.badge.textContent = String(st.unread);
    ui.badge.hidden = st.unread === 0;
    ui.launcher.setAttribute('aria-label', st.unread === 0 ? t('launcher') : plural('launcher.unread', st.unread));
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function connect() {
    if (st.stopped) return;
    clearTimeout(st.timer);
    var ws;
    try { ws = new WebSocket(wsURL); } catch (e) { retry(); return; }
    st.ws = ws;
    st.welcomed = false;
    ws.onopen = function () {
      var hello = { type: 'hello', visitor_token: st.token || null, page_url: location.href };
      if (script.getAttribute('data-name')) hello.name = script.getAttribute('data-name');
      if (identity) hello.identity = identity;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      onFrame(f);
    };
    ws.onclose = function (ev) {
      if (st.ws !== ws) return;
      st.ws = null;
      st.welcomed = false;
      lookupDone();
      setStatus();
      if (ev.code === 1008) { st.stopped = true; return; } // refused: retrying cannot help
      if (ev.code === 1013) { // too many connections for now: come back in a minute
        notice(t('busy'));
        st.timer = setTimeout(connect, 60000 * (0.75 + Math.random() / 2));
        return;
      }
      retry();
    };
  }

  function retry() {
    if (st.stopped) return;
    var d = Math.min(30000, 1000 * Math.pow(2, st.retries++)) * (0.5 + Math.random() / 2);
    if (st.retries > 1) notice(t('reconnecting'));
    st.timer = setTimeout(connect, d);
  }

  function send(f) {
    if (st.ws && st.ws.readyState === 1) {
      st.ws.send(JSON.stringify(f));
      return true;
    }
    return false;
  }

  function onFrame(f) {
    switch (f.type) {
      case 'welcome':
        st.welcomed = true;
        st.retries = 0;
        notice('');
        if (f.visitor_token && f.visitor_token !== st.token) {
          if (st.token) { st.pending = []; save('pending', []); } // a new conversation
          st.token = f.visitor_token;
          save('token', st.token);
        }
        st.email = f.email || '';
        st.emailVerified = !!f.email_verified;
        st.emailRequired = !!f.email_required;
        st.config.online = !!f.online;
        if (f.name) ui.name.value = f.name;
        if (f.email) ui.email.value = f.email;
        ui.log.textContent = '';
        st.shown = {};
        if (st.csatState === 'ask') st.csatState = ''; // a csat frame follows while it is still open
        (f.messages || []).forEach(function (m) { show(m, false); });
        if (st.tracking && st.emailVerified) send({ type: 'my_orders' });
        st.pending.forEach(function (p) {
          showPending(p);
          send({ type: 'message', client_id: p.client_id, text: p.text, attachments: p.attachments || [] });
        });
        setStatus();
        scrollDown();
        break;
      case 'message':
        if (f.message) show(f.message, true);
        break;
      case 'ack':
        acked(f.client_id, f.message_id);
        break;
      case 'offer':
        if (f.offer === 'track_order') offerTracking();
        break;
      case 'typing':
        ui.typing.hidden = false;
        clearTimeout(st.typingTimer);
        st.typingTimer = setTimeout(function () { ui.typing.hidden = true; }, 4000);
        break;
      case 'order':
        lookupDone();
        if (f.order) showOrders([f.order], '');
        break;
      case 'order_not_found':
        lookupDone();
        showOrders([], t('track.not_found'));
        break;
      case 'orders':
        showOrders(f.orders || [], (f.orders || []).length ? '' : t('track.none'), t('track.recent'));
        break;
      case 'csat':
        showCSAT(f.ticket_id);
        break;
      case 'csat_thanks':
        if (st.csatState === 'ask' && (!f.ticket_id || f.ticket_id === st.csat)) {
          st.csatState = 'thanks';
          ui.csatForm.hidden = true;
          ui.csatThanks.hidden = false;
          setStatus();
        }
        break;
      case 'contact':
        st.email = f.email || '';
        st.emailRequired = false;
        setStatus();
        if (!ui.text.disabled) ui.text.focus();
        break;
      case 'error':
        var e = f.error || {};
        if (f['for'] === 'csat_answer') {
          ui.csatSend.disabled = false;
          if (e.code === 'not_found') { st.csatState = ''; setStatus(); break; } // expired or already gone
          csatError(e.code === 'rate_limited' ? t('csat.wait') : errText(e));
          break;
        }
        if (f['for'] === 'order_lookup' || f['for'] === 'my_orders') {
          lookupDone();
          orderMessage(e.code === 'rate_limited' ? t('track.rate_limited') : errText(e), true);
          break;
        }
        if (f.client_id) {
          if (e.code === 'rate_limited') {
            setTimeout(function () { resend(f.client_id); }, 5000);
          } else {
            dropPending(f.client_id, true);
          }
        }
        notice(errText(e));
        break;
    }
  }

  // ---- Satisfaction survey ----

  function buildCSAT() {
    ui.rates = [];
    var group = h('div', { class: 'rates', role: 'group', 'aria-label': t('csat.group') });
    [1, 2, 3, 4, 5].map(function (n) { return t('csat.' + n); }).forEach(function (label, i) {
      var b = h('button', { class: 'rate', type: 'button', 'aria-pressed': 'false', 'data-rating': String(i + 1),
        'aria-label': t('csat.rate', { rating: i + 1, label: label }) }, [h('span', { text: String(i + 1), 'aria-hidden': 'true' }),
        h('small', { text: label, 'aria-hidden': 'true' })]);
      b.addEventListener('click', function () { pickRating(i + 1); });
      ui.rates.push(b);
      group.appendChild(b);
    });
    // An input, not a textarea: the page's scripts and tests know the message box as the
    // widget's only textarea.
    ui.csatComment = h('input', { type: 'text', maxlength: '1000', placeholder: t('csat.comment_placeholder'),
      'aria-label': t('csat.comment') });
    ui.csatSend = h('button', { class: 'b', type: 'submit', text: t('csat.send'), disabled: '' });
    ui.csatErr = h('p', { class: 'cerr', role: 'alert', hidden: '' });
    ui.csatForm = h('form', { class: 'csat-ask' }, [
      h('p', { class: 'cq', text: t('csat.question') }), group, ui.csatComment, ui.csatErr, ui.csatSend
    ]);
    ui.csatThanks = h('p', { class: 'cthanks', role: 'status', hidden: '', text: t('csat.thanks') });
    ui.csat = h('div', { class: 'csat', hidden: '', 'aria-label': t('csat.region') }, [ui.csatForm, ui.csatThanks]);
    ui.csatForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!st.csatRating) return;
      csatError('');
      if (send({ type: 'csat_answer', rating: st.csatRating, comment: ui.csatComment.value.trim() })) {
        ui.csatSend.disabled = true;
      } else {
        csatError(t('not_connected'));
      }
    });
  }

  function pickRating(n) {
    st.csatRating = n;
    ui.rates.forEach(function (b, i) { b.setAttribute('aria-pressed', i + 1 === n ? 'true' : 'false'); });
    ui.csatSend.disabled = false;
  }

  function csatError(text) {
    ui.csatErr.textContent = text || '';
    ui.csatErr.hidden = !text;
  }

  // showCSAT asks the shopper to rate the conversation of ticket id, keeping a rating
  // and comment already picked for it (the frame comes again after a reconnect).
  function showCSAT(id) {
    if (st.csatState === 'thanks' && st.csat === id) return;
    var isNew = st.csat !== id;
    if (isNew) {
      st.csatRating = 0;
      ui.csatComment.value = '';
      pickRating(0);
      ui.csatSend.disabled = true;
    }
    st.csat = id;
    st.csatState = 'ask';
    ui.csatForm.hidden = false;
    ui.csatThanks.hidden = true;
    csatError('');
    setStatus();
    scrollDown();
    if (isNew) say(t('csat.question'));
    if (isNew && !st.open) {
      st.unread++;
      showUnread();
    }
  }

  // ---- Track my order ----

  // statusName is an order status in the shopper's language; a status the catalogue
  // does not know is shown as the shop named it.
  function statusName(s) {
    return S.hasOwnProperty('order.status.' + s) ? t('order.status.' + s) : (s || '');
  }

  function buildOrders() {
    ui.onumber = h('input', { type: 'text', name: 'number', maxlength: '64', autocomplete: 'off', required: '', placeholder: '1001' });
    ui.oemail = h('input', { type: 'email', name: 'email', maxlength: '320', autocomplete: 'email', required: '' });
    ui.ofind = h('button', { class: 'b', type: 'submit', text: t('track.find') });
    ui.lookup = h('form', { class: 'lookup' }, [
      h('label', {}, [document.createTextNode(t('track.number')), ui.onumber]),
      h('label', {}, [document.createTextNode(t('track.email')), ui.oemail]),
      ui.ofind
    ]);
    ui.omsg = h('p', { class: 'omsg', role: 'status', hidden: '' });
    ui.oresults = h('div', { class: 'results' });
    ui.oback = h('button', { class: 'l', type: 'button', text: '\u2190 ' + t('track.back') });
    ui.oback.addEventListener('click', function () { showTracking(false); });
    ui.orders = h('div', { class: 'orders', hidden: '', 'aria-label': t('track') }, [
      h('div', {}, [ui.oback]), h('h3', { text: t('track') }), ui.lookup, ui.omsg, ui.oresults
    ]);
  }

  // showTracking switches the panel between the chat and the order lookup.
  function showTracking(on) {
    st.tracking = on;
    ui.orders.hidden = !on;
    ui.log.hidden = on;
    ui.track.textContent = on ? t('track.back') : t('track');
    setStatus();
    if (!on) { if (!ui.text.disabled) ui.text.focus(); return; }
    if (!ui.oemail.value && st.email) ui.oemail.value = st.email;
    if (!st.ws) connect();
    // A shopper the shop signed in sees their orders without typing anything.
    if (st.emailVerified && st.welcomed) send({ type: 'my_orders' });
    ui.onumber.focus();
  }

  function lookupOrder() {
    if (st.lookupBusy) return;
    var number = ui.onumber.value.trim();
    var email = ui.oemail.value.trim();
    if (!number || !email) { orderMessage(t('track.missing'), true); return; }
    if (!send({ type: 'order_lookup', number: number, email: email })) {
      orderMessage(t('not_connected'), true);
      if (!st.ws) connect();
      return;
    }
    st.lookupBusy = true;
    ui.ofind.disabled = true;
    orderMessage(t('track.looking'), false);
  }

  function lookupDone() {
    st.lookupBusy = false;
    ui.ofind.disabled = false;
  }

  function orderMessage(text, bad) {
    ui.omsg.textContent = text || '';
    ui.omsg.className = 'omsg' + (bad ? ' bad' : '');
    ui.omsg.hidden = !text;
  }

  function showOrders(list, message, title) {
    orderMessage(message, !!message && !title);
    ui.oresults.textContent = '';
    if (title && list.length) ui.oresults.appendChild(h('h3', { text: title }));
    list.forEach(function (o) { ui.oresults.appendChild(orderCard(o)); });
    if (title && list.length) say(plural('track.count', list.length, { title: title }));
    else if (list.length === 1) say(t('order.said', { number: list[0].number, status: statusName(list[0].status) }));
  }

  // say tells screen readers what just appeared (order results, the rating prompt): the
  // widget's own polite live region, emptied first so that the same words are said again.
  function say(text) {
    ui.say.textContent = '';
    setTimeout(function () { ui.say.textContent = text; }, 50);
  }

  // money formats integer minor units, e.g. 4636 EUR as €46.36, in the widget's language.
  function money(minor, currency) {
    try {
      var f = new Intl.NumberFormat(lang, { style: 'currency', currency: currency || 'USD' });
      return f.format(minor / Math.pow(10, f.resolvedOptions().maximumFractionDigits));
    } catch (e) {
      return (minor / 100).toFixed(2) + ' ' + (currency || '');
    }
  }

  function line(label, value, cls) {
    return h('div', cls ? { class: cls } : null, [h('span', { text: label }), h('span', { text: value })]);
  }

  function orderCard(o) {
    var placed = new Date(o.placed_at);
    var items = h('ul', {}, (o.items || []).map(function (it) {
      return h('li', {}, [h('span', { text: it.quantity + ' \u00d7 ' + (it.name || it.sku) }),
        h('span', { text: money(it.unit_price * it.quantity, o.currency) })]);
    }));
    var sum = h('div', { class: 'sum' }, [
      line(t('order.subtotal'), money(o.subtotal, o.currency)),
      o.shipping ? line(t('order.shipping'), money(o.shipping, o.currency)) : null,
      o.tax ? line(t('order.tax'), money(o.tax, o.currency)) : null,
      o.discount ? line(t('order.discount'), '\u2212' + money(o.discount, o.currency)) : null,
      line(t('order.total'), money(o.total, o.currency), 'ototal'),
      o.refunded ? line(t('order.refunded'), money(o.refunded, o.currency)) : null
    ]);
    var track = null;
    if (o.tracking_number || o.tracking_url) {
      var label = (o.carrier ? o.carrier + ' ' : '') + (o.tracking_number || t('order.tracking_link'));
      // Only an https link from the shop's data is clickable.
      var safe = /^https:\/\//i.test(o.tracking_url || '');
      track = h('div', { class: 'otrack' }, [document.createTextNode(t('order.tracking') + ' '),
        safe ? h('a', { href: o.tracking_url, target: '_blank', rel: 'noopener noreferrer', text: label }) : h('span', { text: label })]);
    }
    return h('div', { class: 'order', 'data-number': o.number }, [
      h('div', { class: 'top' }, [h('strong', { text: t('order', { number: o.number }) }),
        h('span', { class: 'ostatus', text: statusName(o.status) })]),
      h('div', { class: 'odate', text: isNaN(placed) ? '' : t('order.placed', { date: placed.toLocaleDateString(lang) }) }),
      items, sum, track
    ]);
  }

  function bubble(dir, who, text, files) {
    var kids = [];
    if (who) kids.push(h('div', { class: 'who', text: who }));
    if (text) kids.push(h('div', { text: text }));
    (files || []).forEach(function (n) { kids.push(h('div', { class: 'file', text: '\ud83d\udcce ' + n })); });
    return h('div', { class: 'msg ' + dir }, kids);
  }

  function show(m, live) {
    if (st.shown[m.id]) return;
    var mine = m.client_id && ui.log.querySelector('[data-client="' + cssEscape(m.client_id) + '"]');
    if (mine) { // our pending bubble: it is stored now
      var s = mine.querySelector('.state');
      if (s) s.remove();
      st.shown[m.id] = mine;
      return;
    }
    var files = (m.attachments || []).map(function (a) { return a.filename; });
    var el = bubble(m.direction === 'out' ? 'out' : 'in', m.direction === 'out' ? (m.author && m.author.name) : '', m.text, files);
    if (m.client_id) el.setAttribute('data-client', m.client_id);
    st.shown[m.id] = el;
    ui.log.appendChild(el);
    if (m.direction === 'out') {
      ui.typing.hidden = true;
      if (live && !st.open) {
        st.unread++;
        showUnread();
      }
    }
    scrollDown();
  }

  // offerTracking answers a first message about where an order is with Track my order
  // in the conversation: the shopper may have the answer before an agent comes.
  function offerTracking() {
    if (ui.log.querySelector('.offer')) return;
    var go = h('button', { class: 'b', type: 'button', text: t('track') });
    go.addEventListener('click', function () { showTracking(true); });
    ui.log.appendChild(h('div', { class: 'offer', role: 'note' }, [h('p', { text: t('offer.track') }), go]));
    scrollDown();
  }

  function cssEscape(s) { return String(s).replace(/[^A-Za-z0-9_-]/g, ''); }

  function showPending(p) {
    if (ui.log.querySelector('[data-client="' + cssEscape(p.client_id) + '"]')) return;
    var el = bubble('in', '', p.text, p.files);
    el.setAttribute('data-client', p.client_id);
    el.appendChild(h('div', { class: 'state', text: t('sending') }));
    ui.log.appendChild(el);
    scrollDown();
  }

  function acked(clientID, id) {
    var el = ui.log.querySelector('[data-client="' + cssEscape(clientID) + '"]');
    st.pending = st.pending.filter(function (p) { return p.client_id !== clientID; });
    save('pending', st.pending);
    if (!el) return;
    if (st.shown[id] && st.shown[id] !== el) {
      el.remove(); // the message already arrived through the live feed
      return;
    }
    var s = el.querySelector('.state');
    if (s) s.remove();
    st.shown[id] = el;
  }

  function dropPending(clientID, failed) {
    st.pending = st.pending.filter(function (p) { return p.client_id !== clientID; });
    save('pending', st.pending);
    var el = ui.log.querySelector('[data-client="' + cssEscape(clientID) + '"]');
    if (el && failed) {
      el.className = 'msg in failed';
      var s = el.querySelector('.state');
      if (s) s.textContent = t('not_sent');
    }
  }

  function resend(clientID) {
    st.pending.forEach(function (p) {
      if (p.client_id === clientID) send({ type: 'message', client_id: p.client_id, text: p.text, attachments: p.attachments || [] });
    });
  }

  function queue(p) {
    st.pending.push(p);
    save('pending', st.pending);
    showPending(p);
    if (st.welcomed) send({ type: 'message', client_id: p.client_id, text: p.text, attachments: p.attachments || [] });
    else if (!st.ws) connect();
  }

  function sendText() {
    var text = ui.text.value.trim();
    if (!text || ui.text.disabled) return;
    ui.text.value = '';
    queue({ client_id: uuid(), text: text });
  }

  function typing() {
    var now = Date.now();
    if (now - st.typingSent > 2500 && st.welcomed) {
      st.typingSent = now;
      send({ type: 'typing' });
    }
  }

  function upload(file) {
    if (file.size > 10 * 1024 * 1024) { notice(t('upload.limit')); return; }
    if (!st.token || !st.welcomed) { notice(t('not_connected')); return; }
    notice(t('upload.busy', { name: file.name }));
    fetch(httpBase + '/widget/upload?inbox=' + inbox + '&name=' + encodeURIComponent(file.name), {
      method: 'POST', headers: { 'X-Parley-Visitor': st.token }, body: file
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error && j.error.code === 'invalid' && lang !== 'en' ? t('upload.type') : errText(j.error));
        return j;
      });
    }).then(function (j) {
      notice('');
      queue({ client_id: uuid(), text: '', attachments: [j.upload_id], files: [j.filename] });
    }).catch(function (e) { notice(e.message || t('upload.failed')); });
  }

  function watchPage() {
    setInterval(function () {
      if (location.href !== st.href) {
        st.href = location.href;
        if (st.welcomed) send({ type: 'page', url: st.href });
      }
    }, 2000);
  }

  function start() {
    // The page's language, then the browser's: the server takes the first it ships when
    // neither data-lang nor the inbox's setting decides.
    var prefer = [document.documentElement.lang].concat(navigator.languages || [navigator.language]);
    prefer = prefer.filter(function (l) { return l && /^[A-Za-z0-9_-]{1,35}$/.test(l); }).slice(0, 10).join(',');
    fetch(httpBase + '/widget/config?inbox=' + inbox + '&lang=' + encodeURIComponent(script.getAttribute('data-lang') || '') +
      '&prefer=' + encodeURIComponent(prefer), { credentials: 'omit' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (cfg) {
      st.config = cfg;
      S = cfg.strings || {};
      lang = cfg.language || 'en';
      cfg.demo = script.hasAttribute('data-demo');
      build(cfg);
      window.ParleyChat = { open: openPanel, close: closePanel };
      if (st.token) connect(); // a returning shopper gets replies while the panel is closed
      if (sessionFlag('open')) openPanel();
      watchPage();
      window.addEventListener('online', function () { if (!st.ws) { st.retries = 0; connect(); } });
    }).catch(function (e) {
      console.warn('Parley chat: could not load the chat settings:', e.message);
    });
  }

  window.ParleyChat = { loading: true };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
