// TLS upstreams and HTTP(S)_PROXY tunnelling of the real baton binary.
//
// A throwaway CA (openssl CLI) signs the fixture's certificate for localhost / 127.0.0.1. baton
// trusts it only through SSL_CERT_FILE; without it (system CAs only), or with a certificate for
// another host name, the upstream call fails with 502 upstream_connect_failed. HTTPS_PROXY /
// HTTP_PROXY make baton tunnel through a CONNECT proxy (both schemes use CONNECT); NO_PROXY
// bypasses it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, contentPieces } from '../fixture/upstream.mjs';
import { startBaton } from './lib/baton.mjs';
import { UPSTREAM_KEY } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream, errorOf } from './lib/http.mjs';
import { makeTestPki } from './lib/tls.mjs';
import { startConnectProxy } from './lib/connect_proxy.mjs';

// Start every baton with a clean slate: nothing inherited from the developer's environment.
const CLEAN_ENV = {
  HTTPS_PROXY: undefined, https_proxy: undefined, HTTP_PROXY: undefined, http_proxy: undefined,
  NO_PROXY: undefined, no_proxy: undefined, ALL_PROXY: undefined, all_proxy: undefined,
  SSL_CERT_FILE: undefined, SSL_CERT_DIR: undefined,
};
const messages = [{ role: 'user', content: 'hello over tls' }];
const EXPECTED = contentPieces({}).join('');

let pki;
let fxTls;    // https, cert for localhost + 127.0.0.1
let fxWrong;  // https, cert for wrong-host.invalid (same CA)
let fxPlain;  // plain http
let proxy;
const batons = [];

before(async () => {
  pki = makeTestPki();
  fxTls = await startFixture({ tls: { key: pki.server.key, cert: pki.server.cert } });
  fxWrong = await startFixture({ tls: { key: pki.wrongHost.key, cert: pki.wrongHost.cert } });
  fxPlain = await startFixture();
  proxy = await startConnectProxy();
});
after(async () => {
  for (const b of batons) await b.stop();
  await fxTls?.close();
  await fxWrong?.close();
  await fxPlain?.close();
  await proxy?.close();
  pki?.cleanup();
});

function config() {
  const provider = (base_url) => ({ kind: 'openai', base_url, api_key: UPSTREAM_KEY, timeouts: { connect_ms: 3000 } });
  return {
    server: { listen: '127.0.0.1:0', workers: 2 },
    providers: {
      tls: provider(`https://localhost:${fxTls.port}/v1`),
      tlsip: provider(`https://127.0.0.1:${fxTls.port}/v1`),
      wrong: provider(`https://localhost:${fxWrong.port}/v1`),
      plain: provider(fxPlain.baseUrl),
    },
    models: [
      { name: 'gpt-test', deployments: [{ provider: 'tls', model: 'upstream-model-id' }] },
      { name: 'ip-model', deployments: [{ provider: 'tlsip', model: 'upstream-model-id' }] },
      { name: 'wrong-model', deployments: [{ provider: 'wrong', model: 'upstream-model-id' }] },
      { name: 'plain-model', deployments: [{ provider: 'plain', model: 'upstream-model-id' }] },
    ],
  };
}

async function baton(env) {
  const b = await startBaton(config(), { env: { ...CLEAN_ENV, ...env } });
  batons.push(b);
  return b;
}

const chatUrl = (b) => `${b.url}/v1/chat/completions`;
const diag = (b) => `\n--- baton stderr (tail) ---\n${b.stderr().slice(-2000)}`;

/** Non-stream chat through baton; asserts 200 + full content + deployment header; returns the response. */
async function expectChatOk(b, model, deployment) {
  const r = await rawRequest(chatUrl(b), { method: 'POST', body: { model, messages }, timeoutMs: 10_000 });
  assert.equal(r.status, 200, `${model}: ${r.status} ${r.text.slice(0, 300)}${diag(b)}`);
  assert.equal(r.json?.choices?.[0]?.message?.content, EXPECTED, r.text.slice(0, 300));
  assert.equal(r.headers['x-baton-deployment'], deployment);
  return r;
}

/** Streamed chat through the SDK; asserts the whole content arrived without error. */
async function expectStreamOk(b, model) {
  const client = openaiClient(b.url);
  const stream = await client.chat.completions.create({ model, messages, stream: true });
  const got = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(got.error, null, `stream error: ${got.error}${diag(b)}`);
  assert.equal(got.timedOut, false, 'stream timed out');
  assert.equal(got.content, EXPECTED);
}

async function expectConnectFailed(b, model, why) {
  const r = await rawRequest(chatUrl(b), { method: 'POST', body: { model, messages }, timeoutMs: 15_000 });
  assert.equal(r.status, 502, `${why}: expected 502, got ${r.status}: ${r.text.slice(0, 300)}${diag(b)}`);
  assert.equal(errorOf(r.json)?.code, 'upstream_connect_failed', `${why}: ${r.text.slice(0, 300)}`);
}

test('https upstream trusted via SSL_CERT_FILE: non-stream and stream chat work', { timeout: 60_000 }, async () => {
  const b = await baton({ SSL_CERT_FILE: pki.caFile });
  fxTls.reset();
  await expectChatOk(b, 'gpt-test', 'tls/upstream-model-id');
  assert.equal(fxTls.requests.length, 1, 'the https fixture got the request');
  assert.equal(fxTls.requests[0].body.model, 'upstream-model-id');
  assert.equal(fxTls.requests[0].headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  await expectStreamOk(b, 'gpt-test');
  assert.equal(fxTls.requests.at(-1).body.stream, true);
  // The certificate also names IP:127.0.0.1, so an IP base_url verifies too.
  await expectChatOk(b, 'ip-model', 'tlsip/upstream-model-id');
  // Several sequential requests (pooled TLS connections) keep working.
  for (let i = 0; i < 5; i++) await expectChatOk(b, 'gpt-test', 'tls/upstream-model-id');
  await b.assertAlive();
});

test('https upstream without SSL_CERT_FILE (system CAs only) -> 502 upstream_connect_failed', { timeout: 60_000 }, async () => {
  const b = await baton({});
  fxTls.reset();
  await expectConnectFailed(b, 'gpt-test', 'untrusted CA');
  assert.equal(fxTls.requests.length, 0, 'no HTTP request may be sent over an unverified connection');
  const client = openaiClient(b.url);
  await assert.rejects(client.chat.completions.create({ model: 'gpt-test', messages, stream: true }),
    (err) => { assert.equal(err.status, 502, String(err)); assert.equal(err.code, 'upstream_connect_failed'); return true; });
  await b.assertAlive();
});

test('https upstream whose certificate does not name the host -> 502 upstream_connect_failed', { timeout: 60_000 }, async () => {
  const b = await baton({ SSL_CERT_FILE: pki.caFile });
  fxWrong.reset();
  await expectConnectFailed(b, 'wrong-model', 'SAN mismatch');
  assert.equal(fxWrong.requests.length, 0, 'no HTTP request may be sent to a host with a mismatched certificate');
  // the trusted one still works on the same baton
  await expectChatOk(b, 'gpt-test', 'tls/upstream-model-id');
});

test('HTTPS_PROXY: https upstream is reached through a CONNECT tunnel', { timeout: 60_000 }, async () => {
  proxy.reset();
  const b = await baton({ SSL_CERT_FILE: pki.caFile, HTTPS_PROXY: proxy.url });
  fxTls.reset();
  await expectChatOk(b, 'gpt-test', 'tls/upstream-model-id');
  await expectStreamOk(b, 'gpt-test');
  assert.ok(proxy.connects.length >= 1, `the proxy saw no CONNECT${diag(b)}`);
  assert.ok(proxy.connects.every((t) => t === `localhost:${fxTls.port}`), `CONNECT targets: ${proxy.connects}`);
  assert.deepEqual(proxy.plain, [], 'no plain (absolute-form) requests to the proxy');
  assert.equal(fxTls.requests.length, 2);
  // HTTP_PROXY is not set: the http upstream is reached directly.
  const before = proxy.connects.length;
  await expectChatOk(b, 'plain-model', 'plain/upstream-model-id');
  assert.equal(proxy.connects.length, before, 'an http:// upstream must not use HTTPS_PROXY');
});

test('HTTPS_PROXY + NO_PROXY=localhost: direct connection, the proxy sees nothing', { timeout: 60_000 }, async () => {
  proxy.reset();
  const b = await baton({ SSL_CERT_FILE: pki.caFile, HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost' });
  fxTls.reset();
  await expectChatOk(b, 'gpt-test', 'tls/upstream-model-id');
  await expectStreamOk(b, 'gpt-test');
  assert.equal(fxTls.requests.length, 2);
  assert.deepEqual(proxy.connects, [], 'NO_PROXY=localhost must bypass the proxy');
  assert.deepEqual(proxy.plain, []);
  // 127.0.0.1 is not in NO_PROXY: that one goes through the proxy.
  await expectChatOk(b, 'ip-model', 'tlsip/upstream-model-id');
  assert.deepEqual(proxy.connects, [`127.0.0.1:${fxTls.port}`]);
});

test('HTTP_PROXY: an http:// upstream is tunnelled with CONNECT too', { timeout: 60_000 }, async () => {
  proxy.reset();
  const b = await baton({ HTTP_PROXY: proxy.url });
  fxPlain.reset();
  await expectChatOk(b, 'plain-model', 'plain/upstream-model-id');
  await expectStreamOk(b, 'plain-model');
  assert.equal(fxPlain.requests.length, 2);
  assert.ok(proxy.connects.length >= 1, `the proxy saw no CONNECT${diag(b)}`);
  assert.ok(proxy.connects.every((t) => t === `127.0.0.1:${fxPlain.port}`), `CONNECT targets: ${proxy.connects}`);
  assert.deepEqual(proxy.plain, [], 'baton must tunnel (CONNECT), not send absolute-form requests');
  // the request line inside the tunnel is origin-form (the fixture saw a normal path)
  assert.equal(fxPlain.requests[0].path, '/v1/chat/completions');
});

test('proxy unreachable -> 502 upstream_connect_failed, baton keeps running', { timeout: 60_000 }, async () => {
  const b = await baton({ SSL_CERT_FILE: pki.caFile, HTTPS_PROXY: 'http://127.0.0.1:1' });
  await expectConnectFailed(b, 'gpt-test', 'dead proxy');
  await b.assertAlive();
});
