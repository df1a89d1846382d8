// Client disconnect while baton waits on the upstream (before the first byte): baton must notice
// and cancel the upstream request at once (the fixture records `closed_early`), not hold it until
// the upstream answers or first_token_ms fires. Afterwards baton (and its upstream pool) is healthy.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, contentPieces } from '../fixture/upstream.mjs';
import { startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig, UPSTREAM_KEY } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream } from './lib/http.mjs';
import { openRaw, httpRequest } from './lib/raw_socket.mjs';

const UPSTREAM_DELAY_MS = 3000;
const ABORT_AFTER_MS = 200;
const CANCEL_DEADLINE_MS = 1500;

let fx;
let baton;
let seq = 0;

before(async () => {
  fx = await startFixture();
  baton = await startBaton(standardConfig(fx, {
    providers: {
      held: { kind: 'openai', base_url: fx.url({ delay_ms: UPSTREAM_DELAY_MS }), api_key: UPSTREAM_KEY, timeouts: { first_token_ms: 10_000 } },
    },
    models: [{ name: 'held-model', deployments: [{ provider: 'held', model: 'upstream-held-id' }] }],
  }));
});
afterEach(() => baton?.assertAlive());
after(async () => {
  await baton?.stop();
  await fx?.close();
});

const diag = () => `\n--- baton stderr (tail) ---\n${baton.stderr().slice(-2000)}`;

async function inFlight() {
  const r = await rawRequest(`${baton.url}/metrics`, { timeoutMs: 3000 });
  return [...r.text.matchAll(/^baton_requests_in_flight\{[^}]*\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
}

/**
 * Sends one complete chat request for held-model on a raw connection, waits until the fixture has
 * it (baton is now waiting on the upstream) and ABORT_AFTER_MS have passed, then drops the
 * connection (`how`: 'destroy' = FIN, 'reset' = RST). Returns {rec, abortAt, conn}.
 */
async function sendAndAbort({ stream, how = 'destroy' }) {
  const tag = `cancel-${stream ? 'stream' : 'json'}-${how}-${++seq}`;
  const c = await openRaw(baton.port);
  const sentAt = Date.now();
  await c.write(httpRequest('POST', '/v1/chat/completions', {
    body: { model: 'held-model', stream, messages: [{ role: 'user', content: tag }] },
  }));
  const rec = await waitFor(() => fx.requests.find((r) => r.body?.messages?.[0]?.content === tag), 2000,
    { what: `upstream request ${tag} at the fixture` });
  const wait = ABORT_AFTER_MS - (Date.now() - sentAt);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  assert.equal(c.text(), '', `nothing may have been answered yet: ${JSON.stringify(c.text().slice(0, 200))}`);
  const abortAt = Date.now();
  if (how === 'reset') c.socket.resetAndDestroy();
  else c.destroy();
  return { rec, abortAt, tag };
}

async function expectUpstreamCancelled({ rec, abortAt, tag }) {
  let ev;
  try {
    ev = await waitFor(() => fx.events.find((e) => e.reqId === rec.id), UPSTREAM_DELAY_MS + 2000,
      { what: `fixture close event for ${tag}` });
  } catch (e) {
    throw new Error(`${e.message}${diag()}`);
  }
  const after = ev.at - abortAt;
  assert.equal(ev.type, 'closed_early', `${tag}: the upstream request must be cancelled, got '${ev.type}' ${after} ms after the client left${diag()}`);
  assert.ok(after < CANCEL_DEADLINE_MS, `${tag}: the upstream request was cancelled only ${after} ms after the client left (upstream delay ${UPSTREAM_DELAY_MS} ms)${diag()}`);
  // The request no longer counts as in flight.
  await waitFor(async () => (await inFlight()) === 0, CANCEL_DEADLINE_MS, { what: 'baton_requests_in_flight back to 0' });
  return after;
}

test('client disconnects before the first byte (non-stream): upstream request cancelled at once', { timeout: 30_000 }, async (t) => {
  t.diagnostic(`upstream cancelled ${await expectUpstreamCancelled(await sendAndAbort({ stream: false }))} ms after the client left`);
});

test('client disconnects before the first byte (stream: true): upstream request cancelled at once', { timeout: 30_000 }, async (t) => {
  t.diagnostic(`upstream cancelled ${await expectUpstreamCancelled(await sendAndAbort({ stream: true }))} ms after the client left`);
});

test('client resets the connection (RST) before the first byte: upstream request cancelled at once', { timeout: 30_000 }, async () => {
  await expectUpstreamCancelled(await sendAndAbort({ stream: false, how: 'reset' }));
  await expectUpstreamCancelled(await sendAndAbort({ stream: true, how: 'reset' }));
});

test('several concurrent cancels: every upstream request is cancelled', { timeout: 30_000 }, async () => {
  const aborted = await Promise.all(Array.from({ length: 6 }, (_, i) => sendAndAbort({ stream: i % 2 === 0 })));
  await Promise.all(aborted.map(expectUpstreamCancelled));
});

test('after the cancels baton still answers normally (upstream pool healthy)', { timeout: 30_000 }, async () => {
  const client = openaiClient(baton.url);
  for (let i = 0; i < 6; i++) {
    const r = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: `after ${i}` }] });
    assert.equal(r.choices[0].message.content, contentPieces({}).join(''));
  }
  const got = await collectStream(await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'after stream' }], stream: true }),
    { deadlineMs: 10_000 });
  assert.equal(got.error, null, String(got.error));
  assert.equal(got.content, contentPieces({}).join(''));
  // The held provider itself still works when the client waits (answer after the upstream delay).
  const t0 = Date.now();
  const held = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', body: { model: 'held-model', messages: [{ role: 'user', content: 'patient' }] }, timeoutMs: 10_000 });
  assert.equal(held.status, 200, held.text.slice(0, 300) + diag());
  assert.ok(Date.now() - t0 >= UPSTREAM_DELAY_MS - 100);
  assert.equal(held.headers['x-baton-deployment'], 'held/upstream-held-id');
  // The gauge drops when the request's coroutine unwinds, just after the answer is written: a
  // client quick enough (or a slow sanitized build) can read /metrics in between.
  await waitFor(async () => (await inFlight()) === 0, 5_000, { what: 'baton_requests_in_flight back to 0' });
});
