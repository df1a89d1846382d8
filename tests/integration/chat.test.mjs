// Happy paths through the real baton binary with the official openai SDK: chat (non-stream and
// stream), embeddings, models. The fixture upstream records what baton forwarded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { contentPieces, embedVector } from '../fixture/upstream.mjs';
import { UPSTREAM_KEY, MODEL_NAMES } from './lib/config.mjs';
import { rawRequest, collectStream, sseData } from './lib/http.mjs';
import { useStandardGateway } from './lib/suite.mjs';

let fx;
let baton;
let client;

useStandardGateway((up) => ({ fx, baton, client } = up));

const marker = () => `it-${randomUUID()}`;
/** The fixture's record of the request whose body carried `user: mark`. */
const upstreamReq = (mark) => {
  const found = fx.requests.filter((r) => r.body?.user === mark);
  assert.equal(found.length, 1, `expected exactly one upstream request with user=${mark}, got ${found.length}`);
  return found[0];
};

test('non-stream: body forwarded with only model rewritten, upstream key, baton headers', { timeout: 30_000 }, async () => {
  const user = marker();
  const sent = {
    model: 'gpt-test',
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello ünïcødé ✓' }],
    temperature: 0.25,
    max_tokens: 17,
    user,
    seed: 42,
    stop: ['\n\n'],
    some_unknown_field: { nested: [1, 'two', null, true], n: 1.5 },
    fixture: { chunks: 4 },
  };
  const { data, response } = await client.chat.completions
    .create(sent, { headers: { 'x-request-id': 'it-req-123' } })
    .withResponse();

  assert.equal(response.status, 200);
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.content, contentPieces({ chunks: 4 }).join(''));
  assert.equal(data.usage.completion_tokens, 4);

  const rec = upstreamReq(user);
  assert.equal(rec.method, 'POST');
  assert.match(rec.path, /\/v1\/chat\/completions$/);
  assert.deepEqual(rec.body, { ...sent, model: 'upstream-model-id' }, 'only `model` may change');
  assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);

  assert.equal(response.headers.get('x-request-id'), 'it-req-123');
  assert.equal(response.headers.get('x-baton-deployment'), 'fx/upstream-model-id');
  assert.equal(response.headers.get('x-baton-attempts'), '1');
  assert.match(response.headers.get('x-baton-overhead-us') ?? '', /^\d+$/);
});

test('non-stream: client gets the upstream body; x-request-id generated when absent', { timeout: 30_000 }, async () => {
  const user = marker();
  const res = await rawRequest(`${baton.url}/v1/chat/completions`, {
    method: 'POST',
    body: { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], user },
  });
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  const rec = upstreamReq(user);
  assert.deepEqual(res.json, JSON.parse(rec.response));
  assert.ok(res.headers['x-request-id']?.length > 0, 'x-request-id is generated');
  assert.equal(res.headers['x-baton-deployment'], 'fx/upstream-model-id');
});

test('stream without include_usage: upstream asked for usage, client sees no usage chunk', { timeout: 30_000 }, async () => {
  const user = marker();
  const sent = { model: 'gpt-test', messages: [{ role: 'user', content: 'stream please' }], stream: true, user, fixture: { chunks: 6, gap_ms: 5 } };
  const { data: stream, response } = await client.chat.completions.create(sent).withResponse();
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(response.headers.get('x-accel-buffering'), 'no');

  const r = await collectStream(stream);
  assert.equal(r.error, null, String(r.error));
  assert.equal(r.timedOut, false);
  assert.equal(r.content, contentPieces({ chunks: 6 }).join(''));
  for (const c of r.chunks) {
    assert.ok(c.choices.length > 0, `unexpected usage-only chunk: ${JSON.stringify(c)}`);
    assert.ok(!c.usage, `unexpected usage in chunk: ${JSON.stringify(c)}`);
  }
  assert.equal(r.chunks.at(-1).choices[0].finish_reason, 'stop');

  const rec = upstreamReq(user);
  assert.deepEqual(rec.body.stream_options, { include_usage: true });
  assert.deepEqual(rec.body, { ...sent, model: 'upstream-model-id', stream_options: { include_usage: true } });
  assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
});

test('stream with include_usage: client gets the usage chunk', { timeout: 30_000 }, async () => {
  const user = marker();
  const sent = { model: 'gpt-test', messages: [{ role: 'user', content: 'usage please' }], stream: true, stream_options: { include_usage: true }, user };
  const stream = await client.chat.completions.create(sent);
  const r = await collectStream(stream);
  assert.equal(r.error, null, String(r.error));
  assert.equal(r.content, 'tok0 tok1 tok2 ');
  const last = r.chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage?.completion_tokens, 3);
  assert.equal(r.chunks.filter((c) => c.usage).length, 1);
  assert.deepEqual(upstreamReq(user).body, { ...sent, model: 'upstream-model-id' });
});

test('stream: raw SSE ends with [DONE]', { timeout: 30_000 }, async () => {
  const res = await rawRequest(`${baton.url}/v1/chat/completions`, {
    method: 'POST',
    body: { model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], stream: true, user: marker() },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/event-stream/);
  const data = sseData(res.text);
  assert.equal(data.at(-1), '[DONE]');
  const content = data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '').join('');
  assert.equal(content, 'tok0 tok1 tok2 ');
});

test('embeddings: forwarded with model rewritten; SDK decodes the vectors', { timeout: 30_000 }, async () => {
  const user = marker();
  const { data, response } = await client.embeddings.create({ model: 'embed-test', input: ['alpha', 'beta'], user }).withResponse();
  assert.equal(response.status, 200);
  assert.equal(data.data.length, 2);
  assert.deepEqual(data.data[0].embedding, embedVector('alpha'));
  assert.deepEqual(data.data[1].embedding, embedVector('beta'));
  const rec = upstreamReq(user);
  assert.match(rec.path, /\/v1\/embeddings$/);
  assert.equal(rec.body.model, 'upstream-embed-id');
  assert.deepEqual(rec.body.input, ['alpha', 'beta']);
  assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  assert.equal(response.headers.get('x-baton-deployment'), 'fx/upstream-embed-id');

  const user2 = marker();
  const sent = { model: 'embed-test', input: 'gamma', encoding_format: 'float', dimensions: 5, user: user2, extra_thing: { keep: 'me' } };
  const raw = await rawRequest(`${baton.url}/v1/embeddings`, { method: 'POST', body: sent });
  assert.equal(raw.status, 200, raw.text);
  assert.deepEqual(raw.json.data[0].embedding, embedVector('gamma', 5));
  assert.deepEqual(upstreamReq(user2).body, { ...sent, model: 'upstream-embed-id' });
});

test('GET /v1/models lists the configured model names', { timeout: 30_000 }, async () => {
  const page = await client.models.list();
  const ids = page.data.map((m) => m.id).sort();
  assert.deepEqual(ids, [...MODEL_NAMES].sort());
  const raw = await rawRequest(`${baton.url}/v1/models`);
  assert.equal(raw.status, 200);
  assert.match(raw.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(raw.json.object, 'list');
  const gpt = raw.json.data.find((m) => m.id === 'gpt-test');
  assert.equal(gpt.object, 'model');
});
