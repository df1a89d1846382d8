// Self-test of the fault-injecting fixture upstream, driven directly by the official openai SDK
// (no baton involved). If these fail, the baton tests that rely on the fixture are meaningless.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import OpenAI from 'openai';
import { startFixture, contentPieces, embedVector } from '../fixture/upstream.mjs';
import { REPO_ROOT, waitFor } from './lib/baton.mjs';
import { openaiClient, rawRequest, sseData, collectStream } from './lib/http.mjs';

let fx;
let client;
const msgs = [{ role: 'user', content: 'hello fixture' }];

before(async () => {
  fx = await startFixture();
  client = openaiClient(fx.baseUrl);
});
after(() => fx?.close());

const lastReq = () => fx.requests[fx.requests.length - 1];

test('non-stream chat completion is deterministic and recorded', async () => {
  const { data, response } = await client.chat.completions.create({ model: 'm1', messages: msgs, extra_field: { a: 1 } }).withResponse();
  assert.equal(response.status, 200);
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.content, 'tok0 tok1 tok2 ');
  assert.deepEqual(data.usage, { prompt_tokens: data.usage.prompt_tokens, completion_tokens: 3, total_tokens: data.usage.prompt_tokens + 3 });
  const rec = lastReq();
  assert.equal(rec.method, 'POST');
  assert.equal(rec.path, '/v1/chat/completions');
  assert.equal(rec.headers.authorization, 'Bearer sk-client-dummy');
  assert.deepEqual(rec.body, { model: 'm1', messages: msgs, extra_field: { a: 1 } });
  await waitFor(() => fx.events.some((e) => e.reqId === rec.id && e.type === 'finished'), 2000);
});

test('URL knobs and body knobs (body wins)', async () => {
  const viaUrl = openaiClient(fx.url({ chunks: 5 }));
  const a = await viaUrl.chat.completions.create({ model: 'm', messages: msgs });
  assert.equal(a.choices[0].message.content, contentPieces({ chunks: 5 }).join(''));
  assert.equal(lastReq().path, '/k/chunks=5/v1/chat/completions');
  const b = await viaUrl.chat.completions.create({ model: 'm', messages: msgs, fixture: { chunks: 2 } });
  assert.equal(b.choices[0].message.content, 'tok0 tok1 ');
  const c = await client.chat.completions.create({ model: 'm', messages: msgs, fixture: { text: 'hello big world' } });
  assert.equal(c.choices[0].message.content, 'hello big world');
});

test('stream: chunks, usage chunk only when include_usage, [DONE]', async () => {
  const s1 = await client.chat.completions.create({ model: 'm', messages: msgs, stream: true, fixture: { chunks: 4 } });
  const r1 = await collectStream(s1);
  assert.equal(r1.error, null);
  assert.equal(r1.content, 'tok0 tok1 tok2 tok3 ');
  assert.ok(r1.chunks.every((c) => c.choices.length > 0 && !c.usage));

  const s2 = await client.chat.completions.create({ model: 'm', messages: msgs, stream: true, stream_options: { include_usage: true } });
  const r2 = await collectStream(s2);
  const last = r2.chunks[r2.chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 3);

  const raw = await rawRequest(`${fx.baseUrl}/chat/completions`, { method: 'POST', body: { model: 'm', stream: true, fixture: { chunked: false } } });
  assert.match(raw.headers['content-type'], /^text\/event-stream/);
  assert.equal(Number(raw.headers['content-length']), Buffer.byteLength(raw.text));
  assert.equal(sseData(raw.text).at(-1), '[DONE]');
});

test('embeddings (SDK base64 default and float) and models', async () => {
  const e = await client.embeddings.create({ model: 'emb', input: ['a', 'b'] });
  assert.equal(e.data.length, 2);
  assert.deepEqual(e.data[1].embedding, embedVector('b'));
  const f = await client.embeddings.create({ model: 'emb', input: 'a', encoding_format: 'float', dimensions: 4 });
  assert.deepEqual(f.data[0].embedding, embedVector('a', 4));
  const models = await client.models.list();
  assert.ok(models.data.some((m) => m.id === 'upstream-model-id'));
});

test('status, retry_after, delay_ms, close, malformed', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'm', messages: msgs, fixture: { status: 500 } }), OpenAI.InternalServerError);
  const rl = await rawRequest(`${fx.url({ retry_after: 1 })}/chat/completions`, { method: 'POST', body: { model: 'm' } });
  assert.equal(rl.status, 429);
  assert.equal(rl.headers['retry-after'], '1');
  assert.equal(rl.json.error.code, 'fixture_status_429');

  const t0 = Date.now();
  await client.chat.completions.create({ model: 'm', messages: msgs, fixture: { delay_ms: 300, close: true } });
  assert.ok(Date.now() - t0 >= 290);

  const bad = await rawRequest(`${fx.baseUrl}/chat/completions`, { method: 'POST', body: { model: 'm', fixture: { malformed: true } } });
  assert.throws(() => JSON.parse(bad.text));
  const badStream = await rawRequest(`${fx.baseUrl}/chat/completions`, { method: 'POST', body: { model: 'm', stream: true, fixture: { malformed: true } } });
  assert.ok(sseData(badStream.text).some((d) => { try { JSON.parse(d); return false; } catch { return d !== '[DONE]'; } }));
});

test('die_after resets mid-stream; stall_after + client abort records closed_early', async () => {
  const s = await client.chat.completions.create({ model: 'm', messages: msgs, stream: true, fixture: { chunks: 10, gap_ms: 10, die_after: 3 } });
  const r = await collectStream(s, { deadlineMs: 5000 });
  assert.equal(r.timedOut, false);
  assert.equal(r.content, 'tok0 tok1 tok2 ');
  const died = lastReq();
  await waitFor(() => fx.events.some((e) => e.reqId === died.id && e.type === 'died'), 2000);

  const ac = new AbortController();
  const s2 = await client.chat.completions.create({ model: 'm', messages: msgs, stream: true, fixture: { chunks: 10, stall_after: 2 } }, { signal: ac.signal });
  const stalled = lastReq();
  const r2 = await collectStream(s2, { onChunk: (_c, all) => { if (all.length === 2) setTimeout(() => ac.abort(), 100); } });
  assert.equal(r2.content, 'tok0 tok1 ');
  assert.equal(r2.timedOut, false); // the SDK ends the iteration quietly (or throws an abort error)
  assert.ok(r2.error === null || r2.error instanceof OpenAI.APIUserAbortError || r2.error.name === 'AbortError', `got ${r2.error}`);
  const ev = await waitFor(() => fx.events.find((e) => e.reqId === stalled.id && e.type === 'closed_early'), 2000);
  assert.equal(ev.chunksSent, 2);
});

test('CLI mode prints the listening line', async () => {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'tests/fixture/upstream.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const port = await waitFor(() => /fixture listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 5000);
    const r = await rawRequest(`http://127.0.0.1:${port}/v1/models`);
    assert.equal(r.status, 200);
  } finally {
    child.kill('SIGTERM');
  }
});
