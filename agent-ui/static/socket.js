// socket.js keeps one WebSocket to the hub. After a drop it reconnects with exponential
// backoff and asks for every stored event after the last one it saw, so nothing is missed.

export class Live {
  // onEvent gets each frame {id, type, at, data}; onState gets "connecting", "live" or
  // "offline" and, for "live", whether the missed events are being replayed, for
  // "offline", whether the socket was refused before it opened.
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastID = 0;
    this.attempt = 0;
    this.ws = null;
    this.timer = 0;
    this.stopped = true;
    this.connectedOnce = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
  }

  connect() {
    clearTimeout(this.timer);
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/ws';
    this.onState('connecting');
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.attempt = 0;
      const resumed = this.connectedOnce && this.lastID > 0;
      if (resumed) ws.send(JSON.stringify({ type: 'resume', after: this.lastID }));
      const reconnect = this.connectedOnce;
      this.connectedOnce = true;
      this.onState('live', { resumed, reconnect });
    });
    ws.addEventListener('message', (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      if (!f || typeof f.type !== 'string') return;
      // Stored events have increasing ids; a replay may overlap what arrived live.
      if (f.id > 0) {
        if (f.id <= this.lastID) return;
        this.lastID = f.id;
      }
      try { this.onEvent(f); } catch (e) { console.error('event', f.type, e); }
    });
    let opened = false;
    ws.addEventListener('open', () => { opened = true; });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.stopped) this.retry(!opened);
    });
  }

  // retry connects again after a backoff; refused says the socket never opened, which
  // the server answers that way when the session is gone.
  retry(refused = true) {
    this.onState('offline', { refused });
    const base = Math.min(30000, 500 * 2 ** this.attempt);
    this.attempt++;
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * base / 2);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }
}
