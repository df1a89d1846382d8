// Error answers of the real baton binary: always OpenAI-shaped JSON
// {"error":{"message","type","param","code"}}, never HTML, never a hang.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { openaiClient, rawRequest, errorOf } from './lib/http.mjs';
import { useStandardGateway } from './lib/suite.mjs';

let fx;
let baton;
let client;
const messages = [{ role: 'user', content: 'hi' }];

useStandardGateway((up) => ({ fx, baton, client } = up));

/** Raw request; asserts status, JSON content-type and the error shape; returns the error object. */
async function expectError(path, { status, code, param, ...req }) {
  const r = await rawRequest(`${baton.url}${path}`, { timeoutMs: 10_000, ...req });
  assert.equal(r.status, status, `${req.method ?? 'GET'} ${path}: expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, `content-type of ${path}`);
  assert.doesNotMatch(r.text, /<html/i);
  const e = errorOf(r.json);
  assert.ok(e, `not an OpenAI-shaped error body: ${r.text.slice(0, 300)}`);
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in e, `error.${k} missing in ${r.text}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  if (code !== undefined) assert.equal(e.code, code, r.text);
  if (param !== undefined) assert.equal(e.param, param, r.text);
  return { error: e, response: r };
}

/** SDK call expected to reject with `Cls` (an OpenAI.APIError subclass) and the given fields. */
async function expectSdkError(promise, Cls, { status, code, param }) {
  await assert.rejects(promise, (err) => {
    const got = `${err?.constructor?.name}: ${err?.message}${err?.cause ? ` (cause: ${err.cause.code ?? ''} ${err.cause.message})` : ''}`;
    assert.ok(err instanceof Cls, `expected ${Cls.name}, got ${got}`);
    if (status !== undefined) assert.equal(err.status, status, `status; got ${got}`);
    if (code !== undefined) assert.equal(err.code, code, `code; got ${got}`);
    if (param !== undefined) assert.equal(err.param, param, `param; got ${got}`);
    return true;
  });
}

const chat = '/v1/chat/completions';

test('invalid JSON -> 400 invalid_json', { timeout: 20_000 }, async () => {
  await expectError(chat, { method: 'POST', body: '{"model": "gpt-test", "messages": [', status: 400, code: 'invalid_json' });
  await expectError(chat, { method: 'POST', body: '', status: 400 });
  await expectError(chat, { method: 'POST', body: '[1,2,3]', status: 400 });
});

test('missing model / messages -> 400 missing_field with param', { timeout: 20_000 }, async () => {
  await expectError(chat, { method: 'POST', body: { messages }, status: 400, code: 'missing_field', param: 'model' });
  await expectError(chat, { method: 'POST', body: { model: 'gpt-test' }, status: 400, code: 'missing_field', param: 'messages' });
  await expectSdkError(client.chat.completions.create({ messages }), OpenAI.BadRequestError, { status: 400, code: 'missing_field', param: 'model' });
  await expectSdkError(client.chat.completions.create({ model: 'gpt-test' }), OpenAI.BadRequestError, { status: 400, param: 'messages' });
});

test('unknown model -> 404 model_not_found', { timeout: 20_000 }, async () => {
  await expectError(chat, { method: 'POST', body: { model: 'no-such-model', messages }, status: 404, code: 'model_not_found' });
  await expectSdkError(client.chat.completions.create({ model: 'no-such-model', messages }), OpenAI.NotFoundError, { status: 404, code: 'model_not_found' });
  await expectSdkError(client.embeddings.create({ model: 'no-such-model', input: 'x' }), OpenAI.NotFoundError, { status: 404, code: 'model_not_found' });
});

// Baton rejects on the content-length header, before the body is read. The client must still see
// the 413: closing the socket with unread request bytes makes the kernel send a RST, which can
// destroy the 413 before the client reads it (then the SDK reports APIConnectionError / EPIPE /
// ECONNRESET). A lingering close (shutdown(SHUT_WR), then drain the rest for a bounded time) avoids it.
test('body over max_body_bytes -> 413 body_too_large', { timeout: 20_000 }, async () => {
  const big = { model: 'gpt-test', messages: [{ role: 'user', content: 'x'.repeat(1_200_000) }] };
  const before = fx.requests.length;
  await expectError(chat, { method: 'POST', body: big, status: 413, code: 'body_too_large' });
  await expectSdkError(client.chat.completions.create(big), OpenAI.APIError, { status: 413, code: 'body_too_large' });
  assert.equal(fx.requests.length, before, 'an oversized body must not reach the upstream');
  // just under the limit is fine
  const ok = await rawRequest(`${baton.url}${chat}`, { method: 'POST', body: { model: 'gpt-test', messages: [{ role: 'user', content: 'y'.repeat(1_000_000) }] } });
  assert.equal(ok.status, 200, ok.text.slice(0, 300));
});

test('wrong method -> 405 method_not_allowed; unknown path -> 404 not_found', { timeout: 20_000 }, async () => {
  await expectError(chat, { method: 'GET', status: 405, code: 'method_not_allowed' });
  await expectError('/v1/embeddings', { method: 'GET', status: 405, code: 'method_not_allowed' });
  await expectError('/v1/does-not-exist', { method: 'POST', body: {}, status: 404, code: 'not_found' });
  await expectError('/nope', { method: 'GET', status: 404, code: 'not_found' });
});

test('upstream connection refused -> 502 upstream_connect_failed', { timeout: 30_000 }, async () => {
  await expectError(chat, { method: 'POST', body: { model: 'dead-model', messages }, status: 502, code: 'upstream_connect_failed' });
  await expectSdkError(client.chat.completions.create({ model: 'dead-model', messages }), OpenAI.InternalServerError, { status: 502, code: 'upstream_connect_failed' });
  await expectSdkError(client.chat.completions.create({ model: 'dead-model', messages, stream: true }), OpenAI.APIError, { status: 502, code: 'upstream_connect_failed' });
});

test('upstream first-token timeout -> 504 upstream_timeout well under the upstream delay', { timeout: 30_000 }, async () => {
  let t0 = Date.now();
  await expectError(chat, { method: 'POST', body: { model: 'slow-model', messages }, status: 504, code: 'upstream_timeout' });
  let elapsed = Date.now() - t0;
  assert.ok(elapsed < 2500, `504 took ${elapsed} ms (upstream delay 3000 ms, first_token_ms 500)`);

  t0 = Date.now();
  await expectSdkError(client.chat.completions.create({ model: 'slow-model', messages, stream: true }), OpenAI.APIError, { status: 504, code: 'upstream_timeout' });
  elapsed = Date.now() - t0;
  assert.ok(elapsed < 2500, `stream 504 took ${elapsed} ms`);
});

test('upstream 500 / 429 are passed through with status and body', { timeout: 30_000 }, async () => {
  for (const status of [500, 429]) {
    const { error } = await expectError(chat, { method: 'POST', body: { model: 'gpt-test', messages, fixture: { status } }, status });
    assert.equal(error.code, `fixture_status_${status}`, 'the upstream error body is passed through');
    assert.equal(error.message, `fixture injected status ${status}`);
  }
  await expectSdkError(client.chat.completions.create({ model: 'gpt-test', messages, fixture: { status: 500 } }), OpenAI.InternalServerError, { status: 500, code: 'fixture_status_500' });
  await expectSdkError(client.chat.completions.create({ model: 'gpt-test', messages, fixture: { retry_after: 1 } }), OpenAI.RateLimitError, { status: 429, code: 'fixture_status_429' });
  await expectSdkError(client.chat.completions.create({ model: 'gpt-test', messages, stream: true, fixture: { status: 500 } }), OpenAI.InternalServerError, { status: 500, code: 'fixture_status_500' });
});

test('SDK against an unreachable baton port -> APIConnectionError (sanity of the client setup)', { timeout: 20_000 }, async () => {
  const nowhere = openaiClient('http://127.0.0.1:1');
  await assert.rejects(nowhere.chat.completions.create({ model: 'gpt-test', messages }), OpenAI.APIConnectionError);
});
