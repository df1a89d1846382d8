// Raw HTTP/1.1 over node:net for tests that need byte-level control (timeouts, smuggling,
// pipelining, 100-continue, connection limits). Everything is bounded by deadlines.
//
//   const c = await openRaw(port);           // after: c.destroy()
//   c.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
//   const [res] = await c.waitForResponses(1, 2000);   // {status, reason, headers, body, json}
//   const closed = await c.waitClosed(2000);            // {how: 'end'|'error'|'close', code, atMs}
import net from 'node:net';

/** Connect to 127.0.0.1:port; resolves once connected (rejects on error or after `timeoutMs`). */
export function openRaw(port, { host = '127.0.0.1', timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect to ${host}:${port} timed out`)); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); resolve(new RawConn(socket)); });
    socket.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export class RawConn {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.openedAt = Date.now();
    this.closeInfo = null; // first sign of the peer going away: FIN ('end'), an error (RST...), or 'close'
    this.waiters = new Set();
    socket.setNoDelay(true);
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.dataAt = Date.now(); this.wake(); });
    const closed = (how, code) => {
      if (!this.closeInfo) this.closeInfo = { how, code, at: Date.now() };
      this.wake();
    };
    socket.on('end', () => closed('end'));
    socket.on('error', (e) => closed('error', e.code));
    socket.on('close', () => closed('close'));
  }

  wake() { for (const w of [...this.waiters]) w(); }

  /** Writes; resolves when flushed, never rejects (a write error shows up as closeInfo). */
  write(data) {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve(false);
      this.socket.write(data, (err) => resolve(!err));
    });
  }

  text() { return this.buf.toString('latin1'); }

  /** Resolves with fn()'s first truthy value; rejects after `deadlineMs` (with what was received). */
  until(fn, deadlineMs, what = 'condition') {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try { v = fn(); } catch (e) { finish(); reject(e); return; }
        if (v) { finish(); resolve(v); }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${what}: not within ${deadlineMs} ms; received ${JSON.stringify(this.text().slice(0, 600))}; closed: ${JSON.stringify(this.closeInfo)}`));
      }, deadlineMs);
      const finish = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits until `n` complete responses (1xx included) are parsed; rejects if the peer closes first. */
  waitForResponses(n, deadlineMs = 5000) {
    return this.until(() => {
      const { responses } = parseResponses(this.buf, { eof: !!this.closeInfo });
      if (responses.length >= n) return responses;
      if (this.closeInfo) throw new Error(`connection closed (${JSON.stringify(this.closeInfo)}) after ${responses.length}/${n} responses; received ${JSON.stringify(this.text().slice(0, 600))}`);
      return null;
    }, deadlineMs, `${n} response(s)`);
  }

  /** Resolves {how, code, atMs (since `since`)} once the peer closed (FIN or reset); rejects after `deadlineMs`. */
  async waitClosed(deadlineMs = 5000, since = this.openedAt) {
    const info = await this.until(() => this.closeInfo, deadlineMs, 'peer close');
    return { ...info, atMs: info.at - since };
  }

  responses() { return parseResponses(this.buf, { eof: !!this.closeInfo }).responses; }

  destroy() { this.socket.destroy(); }
}

/**
 * Parses consecutive HTTP/1.1 responses from `buf`. Returns {responses, rest}: each response is
 * {status, reason, headers (lower-case names; repeats joined with ', '), body, json}. A response
 * without framing is complete only at `eof`.
 */
export function parseResponses(buf, { eof = false } = {}) {
  const s = Buffer.isBuffer(buf) ? buf.toString('latin1') : buf;
  const responses = [];
  let pos = 0;
  for (;;) {
    const headEnd = s.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) break;
    const lines = s.slice(pos, headEnd).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP response at ${pos}: ${JSON.stringify(s.slice(pos, pos + 200))}`);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
    const status = Number(m[1]);
    let bodyStart = headEnd + 4;
    let body = '';
    if (status >= 100 && status < 200) {
      // interim response: no body
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const le = s.indexOf('\r\n', p);
        if (le < 0) break;
        const size = parseInt(s.slice(p, le), 16);
        if (Number.isNaN(size)) throw new Error(`bad chunk size ${JSON.stringify(s.slice(p, le))}`);
        if (size === 0) {
          const end = s.indexOf('\r\n\r\n', le);
          if (end < 0) break;
          p = end + 4;
          complete = true;
          break;
        }
        if (s.length < le + 2 + size + 2) break;
        body += s.slice(le + 2, le + 2 + size);
        p = le + 2 + size + 2;
      }
      if (!complete) break;
      bodyStart = p;
      body = Buffer.from(body, 'latin1').toString('utf8');
      responses.push(mk(status, m[2], headers, body));
      pos = bodyStart;
      continue;
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      if (s.length < bodyStart + len) break;
      body = s.slice(bodyStart, bodyStart + len);
      bodyStart += len;
    } else if (status !== 204 && status !== 304) {
      if (!eof) break;
      body = s.slice(bodyStart);
      bodyStart = s.length;
    }
    responses.push(mk(status, m[2], headers, Buffer.from(body, 'latin1').toString('utf8')));
    pos = bodyStart;
  }
  return { responses, rest: s.slice(pos) };
}

function mk(status, reason, headers, body) {
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status, reason, headers, body, json };
}

/** A complete request as a string; `body` objects are JSON-encoded with a content-length. */
export function httpRequest(method, path, { headers = {}, body } = {}) {
  const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const h = { host: 'x', ...headers };
  if (body !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['content-length'] = Buffer.byteLength(payload);
  if (body !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${payload}`;
}
