// Security checks of the real binary: request smuggling through Transfer-Encoding tricks, unbounded
// framing lines, and secrets (the provider key, the master key, virtual keys, PII values) in logs,
// error bodies, response headers and what reaches the upstream. limits.test.mjs covers the basic
// CL+TE / double Content-Length cases and the header/body/time limits; governance.test.mjs checks its
// own keys against its logs.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startFixture } from '../fixture/upstream.mjs';
import { BATON_BIN, startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig, UPSTREAM_KEY } from './lib/config.mjs';
import { rawRequest, errorOf } from './lib/http.mjs';
import { openRaw, httpRequest } from './lib/raw_socket.mjs';
import { adminClient, runBaton } from './lib/governance.mjs';
import { isSanitizedBinary, rssKiB } from './lib/proc.mjs';

const MASTER = `sk-master-${randomUUID()}`;
const RRN = '900101-1234568';  // a resident registration number with a valid check digit
const PHONE = '010-2345-6789';
const messages = [{ role: 'user', content: 'security' }];
const chatJson = JSON.stringify({ model: 'gpt-test', messages });

let fx;
let baton;
let admin;
let virtualKey;
const responses = [];  // every answer baton gave in this file: none may carry a secret

before(async () => {
  fx = await startFixture();
  const cfg = standardConfig(fx, {
    models: [{ name: 'pii-block', deployments: [{ provider: 'fx', model: 'upstream-model-id' }], guard: { pii: { action: 'block' } } }],
  });
  cfg.auth = { master_key: MASTER };
  baton = await startBaton(cfg);
  admin = adminClient(baton.url, MASTER);
  const created = await admin.post('/admin/keys', { name: 'security-test' });
  assert.equal(created.status, 201, created.text);
  virtualKey = created.json.key;
});
afterEach(() => baton?.assertAlive());
after(async () => {
  await baton?.stop();
  await fx?.close();
});

const withKey = () => ({ authorization: `Bearer ${virtualKey}` });

/**
 * POST a raw request head + rest on a fresh connection with a hidden GET pipelined behind it; waits
 * for the connection to close, or for `answered` responses when the request is expected to pass.
 */
async function smuggle(rest, { answered } = {}) {
  const before = fx.requests.length;
  const c = await openRaw(baton.port);
  const hidden = httpRequest('GET', '/v1/models', { headers: withKey() });
  await c.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${virtualKey}\r\n`
    + `Content-Type: application/json\r\n${rest}${hidden}`);
  let closed = null;
  if (answered) await c.waitForResponses(answered, 5000);
  else closed = await c.waitClosed(3000);
  const answers = c.responses();
  c.destroy();
  responses.push(...answers.map((r) => ({ status: r.status, headers: r.headers, text: r.body })));
  return { answers, closed, forwarded: fx.requests.length - before };
}

const chunkedBody = `${chatJson.length.toString(16)}\r\n${chatJson}\r\n0\r\n\r\n`;

test('smuggling: a Transfer-Encoding other than one "chunked" -> one 400, connection closed, nothing forwarded, the hidden request never answered', { timeout: 60_000 }, async () => {
  const refused = {
    'chunked, identity': `Transfer-Encoding: chunked, identity\r\n\r\n${chunkedBody}`,
    'identity, chunked': `Transfer-Encoding: identity, chunked\r\n\r\n${chunkedBody}`,
    'gzip, chunked': `Transfer-Encoding: gzip, chunked\r\n\r\n${chunkedBody}`,
    xchunked: `Transfer-Encoding: xchunked\r\n\r\n${chunkedBody}`,
    'two headers': `Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody}`,
    'space before colon': `Transfer-Encoding : chunked\r\n\r\n${chunkedBody}`,
    'Content-Length +N': `Content-Length: +${chatJson.length}\r\n\r\n${chatJson}`,
    'Content-Length in hex': `Content-Length: 0x${chatJson.length.toString(16)}\r\n\r\n${chatJson}`,
    'Content-Length overflow': `Content-Length: 99999999999999999999999\r\n\r\n${chatJson}`,
    'bare LF line ends': `Content-Length: ${chatJson.length}\n\n${chatJson}`,
    'NUL in a header value': `X-Note: a\0b\r\nContent-Length: ${chatJson.length}\r\n\r\n${chatJson}`,
    'chunk size overflow': `Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\n${chatJson}\r\n0\r\n\r\n`,
  };
  for (const [name, rest] of Object.entries(refused)) {
    const { answers, closed, forwarded } = await smuggle(rest);
    assert.deepEqual(answers.map((r) => r.status), [400], `${name}: exactly one answer, a 400`);
    assert.equal(answers[0].json?.error?.code, 'bad_request', `${name}: ${answers[0].body}`);
    assert.equal(forwarded, 0, `${name}: nothing may reach the upstream`);
  }
});

test('the accepted spellings of chunked (any case, tab before the value) frame exactly one request; the pipelined one is answered on its own', { timeout: 30_000 }, async () => {
  for (const te of ['CHUNKED', '\tchunked', 'Chunked ']) {
    const { answers, forwarded } = await smuggle(`Transfer-Encoding:${te.startsWith('\t') ? '' : ' '}${te}\r\n\r\n${chunkedBody}`, { answered: 2 });
    assert.deepEqual(answers.map((r) => r.status), [200, 200], `TE '${te}'`);
    assert.equal(answers[0].json?.choices?.[0]?.message?.content, 'tok0 tok1 tok2 ');
    assert.equal(answers[1].json?.object, 'list', 'the second answer is the pipelined GET /v1/models');
    assert.equal(forwarded, 1);
  }
});

test('a chunk-size line that never ends is refused after a bounded read (400, closed); memory does not follow it', { timeout: 60_000 }, async () => {
  const rssBefore = rssKiB(baton.proc.pid);
  const c = await openRaw(baton.port);
  await c.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${virtualKey}\r\n`
    + `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chatJson.length.toString(16)};ext=`);
  const megabyte = 'a'.repeat(1 << 20);
  let sentMiB = 0;
  while (!c.closeInfo && sentMiB < 256) {
    if (!(await c.write(megabyte))) break;
    sentMiB++;
    // Let socket events run between writes: under load, flushed writes alone kept the loop from
    // seeing baton's FIN (sent right after its 400) until ~100 MiB had gone into the lingering close.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await c.waitClosed(10_000);
  c.destroy();
  const [answer] = c.responses();
  console.log(`# endless chunk-size line: the client had sent ${sentMiB} MiB when it saw baton close`);
  assert.equal(answer?.status, 400, c.text().slice(0, 300));
  assert.match(answer.json.error.message, /chunk-size line/);
  assert.ok(sentMiB < 64, `baton kept reading ${sentMiB} MiB of one chunk-size line`);
  const grewMiB = (rssKiB(baton.proc.pid) - rssBefore) / 1024;
  if (!isSanitizedBinary(BATON_BIN)) assert.ok(grewMiB < 8, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
});

test('the bounded read buffer (head limit + 64 KiB) still takes bodies far larger than itself: 900 KB by content-length and in 100 KB chunks', { timeout: 30_000 }, async () => {
  const json = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'y'.repeat(900_000) }] });
  const whole = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', headers: withKey(), body: json });
  assert.equal(whole.status, 200, whole.text.slice(0, 200));
  let chunked = '';
  for (let i = 0; i < json.length; i += 100_000) {
    const part = json.slice(i, i + 100_000);
    chunked += `${part.length.toString(16)}\r\n${part}\r\n`;
  }
  const { answers, forwarded } = await smuggle(`Transfer-Encoding: chunked\r\n\r\n${chunked}0\r\n\r\n`, { answered: 2 });
  assert.deepEqual(answers.map((r) => r.status), [200, 200]);
  assert.equal(forwarded, 1);
  const upstream = fx.requests.at(-1);
  assert.equal(upstream.body.messages[0].content.length, 900_000, 'the upstream got the whole body');
});

test('the upstream gets the provider key and never the client key; the client never sees the provider key', { timeout: 30_000 }, async () => {
  const user = `sec-${randomUUID()}`;
  const ok = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', headers: withKey(), body: { model: 'gpt-test', messages, user } });
  assert.equal(ok.status, 200);
  responses.push(ok);
  const rec = await waitFor(() => fx.requests.find((r) => r.body?.user === user), 5000, { what: 'upstream request' });
  assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  for (const [name, value] of Object.entries(rec.headers)) {
    assert.ok(!String(value).includes(virtualKey), `the client's key reached the upstream in ${name}`);
    assert.ok(!String(value).includes(MASTER), `the master key reached the upstream in ${name}`);
  }
});

test('error answers name the problem, never the secret: bad keys, upstream failures, PII blocks', { timeout: 60_000 }, async () => {
  const presented = `sk-baton-${'Z'.repeat(43)}`;
  const post = async (body, headers) => {
    const r = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', headers, body });
    responses.push(r);
    return r;
  };
  const bad = await post({ model: 'gpt-test', messages }, { authorization: `Bearer ${presented}` });
  assert.equal(bad.status, 401);
  assert.ok(!bad.text.includes(presented), 'a 401 must not echo the presented key');
  const badAdmin = await admin.get('/admin/keys', { auth: `${MASTER}x` });
  assert.equal(badAdmin.status, 401);
  assert.ok(!badAdmin.text.includes(MASTER));
  responses.push(badAdmin);

  for (const [model, fixture, status] of [['dead-model', undefined, 502], ['slow-model', undefined, 504], ['gpt-test', { status: 401 }, 401], ['gpt-test', { status: 500 }, 500]]) {
    const r = await post({ model, messages, fixture }, withKey());
    assert.equal(r.status, status, `${model} ${JSON.stringify(fixture)}: ${r.text}`);
    assert.ok(errorOf(r.json), r.text);
  }

  const blocked = await post({ model: 'pii-block', messages: [{ role: 'user', content: `주민등록번호 ${RRN}, 전화 ${PHONE}` }] }, withKey());
  assert.equal(blocked.status, 400, blocked.text);
  assert.equal(errorOf(blocked.json).code, 'pii_blocked');
  assert.match(errorOf(blocked.json).message, /KR_RRN/);
  for (const value of [RRN, RRN.replace('-', ''), PHONE, PHONE.replaceAll('-', '')]) {
    assert.ok(!blocked.text.includes(value), `the pii_blocked answer echoes ${value}`);
  }
});

test('no answer of this file carried a secret in its body or headers', () => {
  assert.ok(responses.length >= 20, `${responses.length} answers checked`);
  for (const r of responses) {
    const headers = JSON.stringify(r.headers instanceof Headers ? Object.fromEntries(r.headers) : r.headers);
    for (const secret of [UPSTREAM_KEY, MASTER, virtualKey, RRN]) {
      assert.ok(!r.text.includes(secret), `answer ${r.status} carries ${secret.slice(0, 10)}…: ${r.text.slice(0, 200)}`);
      assert.ok(!headers.includes(secret), `answer ${r.status} headers carry ${secret.slice(0, 10)}…`);
    }
  }
});

test('baton config check names the problem without printing the provider key', { timeout: 30_000 }, async () => {
  const secret = `sk-provider-${randomUUID()}`;
  const file = path.join(baton.dir, 'bad.yaml');
  fs.writeFileSync(file, [
    'providers:',
    '  vendor:',
    '    kind: openai',
    '    base_url: "http://127.0.0.1:1/v1"',
    `    api_key: "${secret}"`,
    '    api_kee: "typo"',
    'models:',
    '  - name: m',
    '    deployments: [{ provider: vendor, model: "x", weight: "${NOT_SET_ANYWHERE}" }]',
    '',
  ].join('\n'));
  const r = await runBaton(['config', 'check', '--config', file]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /api_kee/);
  assert.ok(!(r.stdout + r.stderr).includes(secret), 'config check printed the provider key');
});

test("no secret (provider key, master key, virtual key, PII values) appears in baton's logs", async () => {
  await waitFor(() => baton.stdout().includes('/v1/chat/completions'), 5000, { what: 'access log lines' });
  const logs = `${baton.stdout()}\n${baton.stderr()}`;
  for (const secret of [UPSTREAM_KEY, MASTER, virtualKey, RRN, RRN.replace('-', ''), PHONE]) {
    assert.ok(!logs.includes(secret), `${secret.slice(0, 10)}… appears in baton's log`);
  }
});
