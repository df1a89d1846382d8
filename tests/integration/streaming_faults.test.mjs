// Faults in the middle of a stream: the client cancels, or the upstream dies.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { waitFor } from './lib/baton.mjs';
import { rawRequest, collectStream, sseData } from './lib/http.mjs';
import { useStandardGateway } from './lib/suite.mjs';

let fx;
let baton;
let client;
const messages = [{ role: 'user', content: 'stream faults' }];

useStandardGateway((up) => ({ fx, baton, client } = up));

const marker = () => `it-${randomUUID()}`;
const upstreamReq = (user) => waitFor(() => fx.requests.find((r) => r.body?.user === user), 5000, { what: `upstream request ${user}` });

test('client abort mid-stream -> the upstream sees the cancel (closed_early)', { timeout: 30_000 }, async () => {
  const user = marker();
  const ac = new AbortController();
  const stream = await client.chat.completions.create(
    { model: 'gpt-test', messages, stream: true, user, fixture: { chunks: 50, gap_ms: 50 } },
    { signal: ac.signal },
  );
  const r = await collectStream(stream, { deadlineMs: 10_000, onChunk: (_c, all) => { if (all.length === 2) ac.abort(); } });
  assert.equal(r.timedOut, false);
  assert.ok(r.error === null || r.error instanceof OpenAI.APIUserAbortError || r.error.name === 'AbortError', `unexpected ${r.error}`);
  assert.ok(r.content.startsWith('tok0 tok1 '), r.content);

  const rec = await upstreamReq(user);
  // The upstream would finish after 50 * 50 ms = 2.5 s if baton did not cancel it.
  const ev = await waitFor(() => fx.events.find((e) => e.reqId === rec.id), 5000, { what: 'upstream connection closed' });
  assert.equal(ev.type, 'closed_early', 'baton must cancel the upstream request when the client goes away');
  assert.ok(ev.chunksSent < 50, `upstream sent ${ev.chunksSent} of 50 chunks`);

  // baton is still healthy afterwards
  const ok = await client.chat.completions.create({ model: 'gpt-test', messages });
  assert.equal(ok.choices[0].message.content, 'tok0 tok1 tok2 ');
});

test('upstream dies mid-stream (die_after=3) -> client stream terminates, first 3 chunks delivered', { timeout: 30_000 }, async () => {
  const user = marker();
  const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true, user, fixture: { chunks: 10, gap_ms: 20, die_after: 3 } });
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(r.timedOut, false, 'the client stream must not hang after the upstream died');
  assert.equal(r.content, 'tok0 tok1 tok2 ');
  if (r.error) assert.ok(r.error instanceof OpenAI.APIError, `expected an APIError (SSE error event), got ${r.error?.constructor?.name}: ${r.error?.message}`);
  const rec = await upstreamReq(user);
  await waitFor(() => fx.events.some((e) => e.reqId === rec.id && e.type === 'died'), 2000, { what: 'fixture recorded the injected death' });
});

test('upstream dies mid-stream: raw SSE ends, an error event (if any) is OpenAI-shaped', { timeout: 30_000 }, async () => {
  const res = await rawRequest(`${baton.url}/v1/chat/completions`, {
    method: 'POST',
    timeoutMs: 10_000,
    body: { model: 'gpt-test', messages, stream: true, user: marker(), fixture: { chunks: 10, gap_ms: 20, die_after: 3 } },
  });
  assert.equal(res.status, 200);
  const events = sseData(res.text);
  const parsed = events.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
  const content = parsed.map((p) => p.choices?.[0]?.delta?.content ?? '').join('');
  assert.equal(content, 'tok0 tok1 tok2 ');
  for (const p of parsed.filter((x) => x.error)) {
    assert.equal(typeof p.error.message, 'string');
    assert.ok('type' in p.error && 'code' in p.error, JSON.stringify(p));
  }
  // baton is still healthy afterwards
  const ok = await client.chat.completions.create({ model: 'gpt-test', messages });
  assert.equal(ok.choices[0].message.content, 'tok0 tok1 tok2 ');
});
