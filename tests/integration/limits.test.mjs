// Connection-level limits and HTTP/1.1 framing of the real baton binary, driven over raw sockets
// (node:net, a fresh connection each, every wait bounded): header/idle timeouts, header size,
// max_connections, request smuggling (CL+TE, conflicting CL), pipelining and 100-continue.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture } from '../fixture/upstream.mjs';
import { startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig } from './lib/config.mjs';
import { errorOf } from './lib/http.mjs';
import { openRaw, httpRequest } from './lib/raw_socket.mjs';

const messages = [{ role: 'user', content: 'limits' }];
const chatBody = (extra = {}) => ({ model: 'gpt-test', messages, ...extra });

let fx;
let baton;   // short timeouts, small header limit
let conns = [];

before(async () => {
  fx = await startFixture();
  baton = await startBaton(standardConfig(fx, {
    server: { header_timeout_ms: 300, idle_timeout_ms: 300, max_header_bytes: 4096 },
  }));
});
afterEach(async () => {
  for (const c of conns) c.destroy();
  conns = [];
  await baton?.assertAlive();
});
after(async () => {
  await baton?.stop();
  await fx?.close();
});

async function open(port = baton.port) {
  const c = await openRaw(port);
  conns.push(c);
  return c;
}

const diag = (b = baton) => `\n--- baton stderr (tail) ---\n${b.stderr().slice(-2000)}`;

/** Asserts an OpenAI-shaped JSON error answer with `status` and `code`, closed by `connection: close`. */
function assertErrorResponse(res, status, code) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.body.slice(0, 300)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  const e = errorOf(res.json);
  assert.ok(e, `not an OpenAI-shaped error: ${res.body.slice(0, 300)}`);
  assert.equal(e.code, code, res.body);
  assert.equal(typeof e.message, 'string');
  assert.match(res.headers.connection ?? '', /close/i, 'an error that ends the connection says so');
}

test('header_timeout_ms: an unfinished request head gets 408 request_timeout and the connection closes', { timeout: 20_000 }, async () => {
  const c = await open();
  const t0 = Date.now();
  await c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
  const closed = await c.waitClosed(3000, t0);
  assert.ok(closed.atMs < 2000, `connection closed after ${closed.atMs} ms (header_timeout_ms 300)`);
  assert.ok(closed.atMs >= 200, `closed after only ${closed.atMs} ms: before the header timeout?`);
  const res = c.responses();
  assert.equal(res.length, 1, `exactly one answer expected, got: ${JSON.stringify(c.text())}`);
  assertErrorResponse(res[0], 408, 'request_timeout');
});

test('header_timeout_ms bounds the whole head: a slow sender (one byte every 100 ms) still gets 408', { timeout: 20_000 }, async () => {
  const c = await open();
  const t0 = Date.now();
  await c.write('P');
  const rest = 'OST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghijklmnopqrstuvwxyz0123456789';
  const trickle = (async () => {
    for (const ch of rest) {
      if (c.closeInfo) break;
      await c.write(ch);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const closed = await c.waitClosed(3000, t0);
  await trickle;
  assert.ok(closed.atMs < 2000, `slow sender held the connection for ${closed.atMs} ms (header_timeout_ms 300)`);
  const res = c.responses();
  assert.equal(res.length, 1, JSON.stringify(c.text()));
  assertErrorResponse(res[0], 408, 'request_timeout');
});

test('header_timeout_ms: a body that never arrives (content-length larger than sent) gets 408', { timeout: 20_000 }, async () => {
  const before = fx.requests.length;
  const c = await open();
  const t0 = Date.now();
  await c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":');
  const closed = await c.waitClosed(3000, t0);
  assert.ok(closed.atMs < 2000, `closed after ${closed.atMs} ms`);
  const res = c.responses();
  assert.equal(res.length, 1, JSON.stringify(c.text()));
  assertErrorResponse(res[0], 408, 'request_timeout');
  assert.equal(fx.requests.length, before, 'an incomplete request must not reach the upstream');
});

test('idle_timeout_ms: an idle keep-alive connection is closed by baton', { timeout: 20_000 }, async () => {
  const c = await open();
  await c.write(httpRequest('GET', '/health/live'));
  const [res] = await c.waitForResponses(1, 3000);
  assert.equal(res.status, 200, res.body);
  assert.doesNotMatch(res.headers.connection ?? '', /close/i, 'a normal answer keeps the connection alive');
  const answeredAt = Date.now();
  const closed = await c.waitClosed(3000, answeredAt);
  assert.ok(closed.atMs < 2000, `idle connection closed after ${closed.atMs} ms (idle_timeout_ms 300)`);
  assert.ok(closed.atMs >= 200, `idle connection closed after only ${closed.atMs} ms: not kept alive?`);
  assert.equal(c.responses().length, 1, `nothing more may be sent on idle close: ${JSON.stringify(c.text())}`);
});

test('idle_timeout_ms: a connection that never sends a byte is closed too', { timeout: 20_000 }, async () => {
  const c = await open();
  const closed = await c.waitClosed(3000);
  assert.ok(closed.atMs < 2000, `silent connection closed after ${closed.atMs} ms`);
});

test('max_header_bytes: a 10 KB header value -> 431 header_too_large, never reaches the upstream', { timeout: 20_000 }, async () => {
  const before = fx.requests.length;
  const c = await open();
  await c.write(httpRequest('POST', '/v1/chat/completions', { headers: { 'x-big': 'a'.repeat(10 * 1024) }, body: chatBody() }));
  const [res] = await c.waitForResponses(1, 3000);
  assertErrorResponse(res, 431, 'header_too_large');
  await c.waitClosed(3000);
  assert.equal(fx.requests.length, before, 'an oversized head must not reach the upstream');
  // Just under the limit is fine.
  const ok = await open();
  await ok.write(httpRequest('POST', '/v1/chat/completions', { headers: { 'x-big': 'b'.repeat(3000) }, body: chatBody() }));
  const [r2] = await ok.waitForResponses(1, 5000);
  assert.equal(r2.status, 200, r2.body.slice(0, 300));
});

test('smuggling: Content-Length together with Transfer-Encoding: chunked -> 400, closed, nothing forwarded', { timeout: 20_000 }, async () => {
  const before = fx.requests.length;
  const c = await open();
  const json = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'smuggled' }] }));
  const chunked = `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`;
  // A second request hidden behind the first one's framing: must never be answered either.
  const hidden = httpRequest('GET', '/v1/models');
  await c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
    + `Content-Length: ${chunked.length}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}${hidden}`);
  const closed = await c.waitClosed(3000);
  const res = c.responses();
  assert.ok(res.length >= 1, `no answer before close (${JSON.stringify(closed)}): ${JSON.stringify(c.text())}`);
  assert.equal(res.length, 1, `exactly one answer (the 400), got ${res.map((r) => r.status)}: ${JSON.stringify(c.text().slice(0, 800))}`);
  assertErrorResponse(res[0], 400, 'bad_request');
  await new Promise((r) => setTimeout(r, 100)); // let a (wrongly) forwarded request land
  assert.deepEqual(fx.requests.slice(before).map((r) => r.path), [], 'an ambiguous request must never reach the upstream');
});

test('smuggling: two different Content-Length values -> 400, closed, nothing forwarded', { timeout: 20_000 }, async () => {
  const before = fx.requests.length;
  const json = JSON.stringify(chatBody());
  for (const lengths of [[json.length, json.length + 5], [json.length + 5, json.length]]) {
    const c = await open();
    await c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
      + `Content-Length: ${lengths[0]}\r\nContent-Length: ${lengths[1]}\r\n\r\n${json}`);
    await c.waitClosed(3000);
    const res = c.responses();
    assert.equal(res.length, 1, `CL ${lengths}: ${JSON.stringify(c.text().slice(0, 600))}`);
    assertErrorResponse(res[0], 400, 'bad_request');
  }
  // Also as one comma-separated header.
  const c = await open();
  await c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
    + `Content-Length: ${json.length}, ${json.length + 5}\r\n\r\n${json}`);
  await c.waitClosed(3000);
  const res = c.responses();
  assert.equal(res.length, 1, JSON.stringify(c.text().slice(0, 600)));
  assertErrorResponse(res[0], 400, 'bad_request');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(fx.requests.slice(before).map((r) => r.path), [], 'an ambiguous request must never reach the upstream');
});

test('pipelining: two requests in one write are both answered, in order', { timeout: 20_000 }, async () => {
  fx.reset();
  const c = await open();
  // The first is slower upstream (delay_ms), so answering out of order would show.
  await c.write(
    httpRequest('POST', '/v1/chat/completions', { headers: { 'x-request-id': 'pipe-1' }, body: chatBody({ fixture: { text: 'alpha', delay_ms: 200 } }) })
    + httpRequest('POST', '/v1/chat/completions', { headers: { 'x-request-id': 'pipe-2' }, body: chatBody({ fixture: { text: 'beta' } }) }));
  const res = await c.waitForResponses(2, 8000);
  assert.equal(res.length, 2, JSON.stringify(c.text().slice(0, 800)));
  assert.deepEqual(res.map((r) => r.status), [200, 200], res.map((r) => r.body.slice(0, 200)).join('\n'));
  assert.deepEqual(res.map((r) => r.headers['x-request-id']), ['pipe-1', 'pipe-2']);
  assert.deepEqual(res.map((r) => r.json?.choices?.[0]?.message?.content), ['alpha', 'beta']);
  assert.equal(fx.requests.length, 2);
  // And a GET pipelined behind a POST on the same connection.
  const d = await open();
  await d.write(httpRequest('POST', '/v1/chat/completions', { body: chatBody() }) + httpRequest('GET', '/v1/models') + httpRequest('GET', '/health/live'));
  const res2 = await d.waitForResponses(3, 8000);
  assert.deepEqual(res2.map((r) => r.status), [200, 200, 200]);
  assert.equal(res2[0].json?.object, 'chat.completion');
  assert.equal(res2[1].json?.object, 'list');
  assert.equal(res2[2].json?.status, 'ok');
});

test('Expect: 100-continue -> "HTTP/1.1 100 Continue", then the answer once the body is sent', { timeout: 20_000 }, async () => {
  const c = await open();
  const json = JSON.stringify(chatBody({ fixture: { text: 'continued' } }));
  await c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
    + `Content-Length: ${Buffer.byteLength(json)}\r\nExpect: 100-continue\r\n\r\n`);
  await c.until(() => c.text().includes('\r\n\r\n'), 2000, '100 Continue');
  assert.ok(c.text().startsWith('HTTP/1.1 100 Continue\r\n'), `first bytes: ${JSON.stringify(c.text().slice(0, 200))}`);
  await c.write(json);
  const res = await c.waitForResponses(2, 5000);
  assert.equal(res[0].status, 100);
  assert.equal(res[1].status, 200, res[1].body.slice(0, 300));
  assert.equal(res[1].json?.choices?.[0]?.message?.content, 'continued');
});

test('max_connections: 3 -> a 4th connection is closed right after accept, the first 3 keep working', { timeout: 40_000 }, async () => {
  const b = await startBaton(standardConfig(fx, { server: { max_connections: 3 } }));
  const mine = [];
  try {
    // Wait until only our probe is open (the harness's readiness check may keep a pooled connection).
    let lastOpen;
    await waitFor(async () => {
      const p = await openRaw(b.port);
      mine.push(p);
      await p.write(httpRequest('GET', '/metrics', { headers: { connection: 'close' } }));
      const [m] = await p.waitForResponses(1, 2000);
      p.destroy();
      lastOpen = Number(/^baton_connections_open (\d+)$/m.exec(m.body)?.[1]);
      return lastOpen <= 1;
    }, 15_000, { what: 'baton_connections_open <= 1', intervalMs: 200 })
      .catch((e) => { throw new Error(`${e.message}; last baton_connections_open ${lastOpen}`); });
    await new Promise((r) => setTimeout(r, 100)); // let baton see the probe's close

    // Three connections, each proven accepted by one complete request, then idle.
    const three = [];
    for (let i = 0; i < 3; i++) {
      const c = await openRaw(b.port);
      mine.push(c);
      three.push(c);
      await c.write(httpRequest('GET', '/health/live'));
      const [r] = await c.waitForResponses(1, 3000);
      assert.equal(r.status, 200);
    }

    // The 4th: closed by baton right after accept (FIN or reset), never answered.
    const t0 = Date.now();
    const fourth = await openRaw(b.port);
    mine.push(fourth);
    await fourth.write(httpRequest('GET', '/health/live'));
    const closed = await fourth.waitClosed(2000, t0);
    assert.ok(closed.atMs < 1000, `4th connection closed after ${closed.atMs} ms`);
    assert.equal(fourth.text(), '', `the 4th connection must not be served: ${JSON.stringify(fourth.text().slice(0, 300))}`);

    // The first three still work (keep-alive, second request each).
    for (const c of three) {
      assert.equal(c.closeInfo, null, 'an accepted idle connection was closed');
      await c.write(httpRequest('GET', '/health/live'));
      const res = await c.waitForResponses(2, 3000);
      assert.equal(res[1].status, 200);
    }

    // Freeing one slot lets a new connection in again.
    three[0].destroy();
    let metrics;
    await waitFor(async () => {
      const c = await openRaw(b.port);
      mine.push(c);
      await c.write(httpRequest('GET', '/metrics', { headers: { connection: 'close' } }));
      const res = await c.waitForResponses(1, 1000).catch(() => []);
      c.destroy();
      metrics = res[0]?.status === 200 && res[0].body;
      return metrics;
    }, 5000, { what: 'a new connection is served after one closed', intervalMs: 100 });
    const rejected = Number(/^baton_connections_rejected_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(rejected >= 1, `baton_connections_rejected_total ${rejected}`);
    await b.assertAlive();
  } catch (e) {
    e.message += diag(b);
    throw e;
  } finally {
    for (const c of mine) c.destroy();
    await b.stop();
  }
});

test('after all of the above, a normal request on a fresh connection works', { timeout: 20_000 }, async () => {
  const c = await open();
  await c.write(httpRequest('POST', '/v1/chat/completions', { body: chatBody(), headers: { connection: 'close' } }));
  const [res] = await c.waitForResponses(1, 5000);
  assert.equal(res.status, 200, res.body.slice(0, 300) + diag());
});
