// Fault suite: what a gateway meets in production, each with the outcome a client sees and what the
// process holds afterwards (file descriptors, resident memory). The single faults that change routing
// (5xx storms, 429 + retry-after, refused, hangs, malformed answers, death mid-stream, DB/Redis
// outages) have their own files (routing, errors, streaming_faults, continuation, replicas); this one
// adds the size and speed faults (huge answers, drips, clients that never read or vanish, 10,000 idle
// connections) and proves that rounds of every fault leave nothing behind.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { startFixture, contentPieces } from '../fixture/upstream.mjs';
import { BATON_BIN, startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream, errorOf, sseData } from './lib/http.mjs';
import { openRaw } from './lib/raw_socket.mjs';
import { fdCount, fdsByKind, isSanitizedBinary, rssKiB, sampleRss } from './lib/proc.mjs';

const IDLE_TIMEOUT_MS = 2000;
const MiB = 1024 * 1024;
const messages = [{ role: 'user', content: 'faults' }];
// Under ASan/TSan RSS counts shadow memory and quarantine: memory bounds are checked on normal builds.
const MEMORY_BOUNDS = !isSanitizedBinary(BATON_BIN);
const assertMemory = (ok, message) => { if (MEMORY_BOUNDS) assert.ok(ok, message); };

let fx;
let baton;
let client;

before(async () => {
  fx = await startFixture();
  baton = await startBaton(standardConfig(fx, {
    server: { idle_timeout_ms: IDLE_TIMEOUT_MS },
    // Its own provider, so its breaker is its own: two failures in a row open it.
    providers: { fragile: { kind: 'openai', base_url: fx.baseUrl, api_key: 'sk-fragile' } },
    models: [{ name: 'fragile', deployments: [{ provider: 'fragile', model: 'm' }], retry: { max_attempts: 1 }, breaker: { consecutive_failures: 2, cooldown_ms: 60_000 } }],
  }));
  client = openaiClient(baton.url, { timeout: 60_000 });
});
afterEach(async () => {
  await baton?.assertAlive();
  fx?.reset();  // huge answers are kept in the fixture's records otherwise
});
after(async () => {
  await baton?.stop();
  await fx?.close();
});

const marker = () => `fault-${randomUUID()}`;
const upstreamRecord = (user) => waitFor(() => fx.requests.find((r) => r.body?.user === user), 10_000, { what: `upstream request ${user}` });
const upstreamEnd = (rec, deadlineMs = 10_000) => waitFor(() => fx.events.find((e) => e.reqId === rec.id), deadlineMs, { what: `upstream end of request ${rec.id}` });
const chatRequest = (body) => `POST /v1/chat/completions HTTP/1.1\r\nHost: baton\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

test('huge answers: an 8 MiB JSON answer arrives byte-exact; a 2,000-chunk 8 MiB stream arrives whole', { timeout: 120_000 }, async () => {
  const big = { chunks: 8, pad_bytes: MiB };
  const answer = await client.chat.completions.create({ model: 'gpt-test', messages, fixture: big });
  assert.equal(answer.choices[0].message.content, contentPieces(big).join(''));

  const many = { chunks: 2000, pad_bytes: 4096 };
  const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true, fixture: many });
  const r = await collectStream(stream, { deadlineMs: 60_000 });
  assert.equal(r.error, null);
  assert.equal(r.timedOut, false);
  assert.equal(r.content, contentPieces(many).join(''));
});

test('an answer over the 64 MiB cap -> 502 upstream_protocol_error in the OpenAI shape; baton keeps serving', { timeout: 120_000 }, async () => {
  const res = await rawRequest(`${baton.url}/v1/chat/completions`, {
    method: 'POST', timeoutMs: 60_000, body: { model: 'gpt-test', messages, fixture: { chunks: 65, pad_bytes: MiB } },
  });
  assert.equal(res.status, 502, res.text.slice(0, 300));
  assert.equal(errorOf(res.json)?.code, 'upstream_protocol_error');
  assert.match(errorOf(res.json).message, /oversized/);
  const ok = await client.chat.completions.create({ model: 'gpt-test', messages });
  assert.equal(ok.choices[0].message.content, 'tok0 tok1 tok2 ');
});

test('drips: an upstream writing one byte per write (JSON and SSE) gives the same answer as at full speed', { timeout: 60_000 }, async () => {
  const knobs = { chunks: 12, drip: true };
  const answer = await client.chat.completions.create({ model: 'gpt-test', messages, fixture: knobs });
  assert.equal(answer.choices[0].message.content, contentPieces(knobs).join(''));
  assert.ok(answer.usage.completion_tokens > 0);

  const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true, stream_options: { include_usage: true }, fixture: knobs });
  const r = await collectStream(stream, { deadlineMs: 30_000 });
  assert.equal(r.error, null);
  assert.equal(r.content, contentPieces(knobs).join(''));
  assert.equal(r.chunks.at(-1).usage?.completion_tokens, 12, 'the usage chunk survives byte-by-byte framing');
});

test('a client that never reads: baton stops reading the upstream (memory stays flat), gives up after idle_timeout_ms and cancels the upstream', { timeout: 60_000 }, async () => {
  const chunks = 4000;
  const padBytes = 16 * 1024;  // 64 MiB of stream in all, far more than the socket buffers hold
  const user = marker();
  const rssBefore = rssKiB(baton.proc.pid);
  const sampler = sampleRss(baton.proc.pid);
  const socket = net.connect({ port: baton.port, host: '127.0.0.1' });
  socket.pause();  // never read: the kernel buffers fill and the window closes
  socket.on('error', () => {});
  socket.write(chatRequest(JSON.stringify({ model: 'gpt-test', messages, stream: true, user, fixture: { chunks, pad_bytes: padBytes } })));
  try {
    const rec = await upstreamRecord(user);
    const end = await upstreamEnd(rec, IDLE_TIMEOUT_MS + 20_000);
    const peakKiB = sampler.stop();
    assert.equal(end.type, 'closed_early', 'baton must cancel the upstream of a client that stopped reading');
    assert.ok(end.chunksSent < chunks, `the upstream sent ${end.chunksSent} of ${chunks} chunks: baton drained it`);
    const grewMiB = (peakKiB - rssBefore) / 1024;
    assertMemory(grewMiB < 32, `baton's RSS grew by ${grewMiB.toFixed(1)} MiB while the client did not read (it must not buffer the stream)`);
    console.log(`# slow reader: upstream sent ${end.chunksSent}/${chunks} chunks of ${padBytes} B before the cancel; RSS +${grewMiB.toFixed(1)} MiB at peak`);
  } finally {
    sampler.stop();
    socket.destroy();
  }
});

test('clients that vanish mid-stream (40 at once): every upstream request is cancelled, the deployment is not blamed (its breaker stays closed)', { timeout: 60_000 }, async () => {
  const users = Array.from({ length: 40 }, marker);
  const conns = await Promise.all(users.map(async (user) => {
    const c = await openRaw(baton.port);
    await c.write(chatRequest(JSON.stringify({ model: 'fragile', messages, stream: true, user, fixture: { chunks: 200, gap_ms: 25 } })));
    await c.until(() => c.text().includes('tok1'), 10_000, 'first chunks');
    return c;
  }));
  for (const c of conns) c.destroy();
  for (const user of users) {
    const end = await upstreamEnd(await upstreamRecord(user));
    assert.equal(end.type, 'closed_early');
    assert.ok(end.chunksSent < 200);
  }
  // 40 departures and consecutive_failures 2: any of them counted as a failure would open the breaker.
  const ok = await client.chat.completions.create({ model: 'fragile', messages });
  assert.equal(ok.choices[0].message.content, 'tok0 tok1 tok2 ');
});

/** One round of every fault a client can meet; each outcome asserted. */
async function faultRound() {
  const post = (body, timeoutMs = 30_000) => rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', body: { messages, ...body }, timeoutMs });
  const expectError = async (body, status, code) => {
    const res = await post(body);
    assert.equal(res.status, status, `${JSON.stringify(body.fixture)} -> ${res.status} ${res.text.slice(0, 200)}`);
    assert.equal(errorOf(res.json)?.code, code);
  };
  const storm = Array.from({ length: 30 }, () => expectError({ model: 'gpt-test', fixture: { status: 500 } }, 500, 'fixture_status_500'));
  const limited = Array.from({ length: 10 }, () => expectError({ model: 'gpt-test', fixture: { retry_after: 0 } }, 429, 'fixture_status_429'));
  const refused = Array.from({ length: 5 }, () => expectError({ model: 'dead-model' }, 502, 'upstream_connect_failed'));
  await Promise.all([...storm, ...limited, ...refused]);
  await expectError({ model: 'slow-model' }, 504, 'upstream_timeout');
  await expectError({ model: 'gpt-test', fixture: { malformed: true } }, 502, 'upstream_protocol_error');
  await expectError({ model: 'gpt-test', fixture: { chunks: 65, pad_bytes: MiB } }, 502, 'upstream_protocol_error');

  const deaths = Array.from({ length: 5 }, async () => {
    const res = await post({ model: 'gpt-test', stream: true, fixture: { chunks: 10, die_after: 3 } });
    assert.equal(res.status, 200);
    const events = sseData(res.text).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
    assert.equal(events.map((e) => e.choices?.[0]?.delta?.content ?? '').join(''), 'tok0 tok1 tok2 ');
  });
  // Without a second deployment to continue on, a garbage event is relayed as the upstream sent it
  // (continuation.test.mjs covers the case where baton can continue elsewhere).
  const malformedStream = post({ model: 'gpt-test', stream: true, fixture: { malformed: true } }).then((res) => {
    assert.equal(res.status, 200);
    const data = sseData(res.text);
    assert.equal(data.at(-1), '[DONE]');
    assert.ok(data.includes('{"id":"broken", "choices": ['), 'the garbage event is passed through untouched');
  });
  const huge = client.chat.completions.create({ model: 'gpt-test', messages, fixture: { chunks: 4, pad_bytes: MiB } })
    .then((a) => assert.equal(a.choices[0].message.content.length, 4 * (MiB + 5)));
  const vanished = Array.from({ length: 10 }, async () => {
    const user = marker();
    const c = await openRaw(baton.port);
    await c.write(chatRequest(JSON.stringify({ model: 'gpt-test', messages, stream: true, user, fixture: { chunks: 100, gap_ms: 20 } })));
    await c.until(() => c.text().includes('tok0'), 10_000, 'first chunk');
    c.destroy();
    assert.equal((await upstreamEnd(await upstreamRecord(user))).type, 'closed_early');
  });
  await Promise.all([...deaths, malformedStream, huge, ...vanished]);
  const ok = await client.chat.completions.create({ model: 'gpt-test', messages });
  assert.equal(ok.choices[0].message.content, 'tok0 tok1 tok2 ');
}

test('rounds of every fault leave nothing behind: client fds back to the baseline, RSS within 10 % of the first round', { timeout: 300_000 }, async () => {
  const pid = baton.proc.pid;
  const fds = () => fdsByKind(pid, [fx.port]);
  await faultRound();  // warm-up: pools, allocator arenas and metrics series reach their steady size
  fx.reset();
  const before = await waitFor(() => { const f = fds(); return f.other <= 64 && f; }, 10_000, { what: 'warm-up connections closed' });
  const rssBefore = rssKiB(pid);
  for (let round = 0; round < 3; round++) {
    await faultRound();
    fx.reset();
  }
  // Client connections end with each request; idle upstream connections stay pooled (as many as the
  // busiest moment needed, at most one per concurrent request of a round).
  const afterRounds = await waitFor(() => { const f = fds(); return f.other <= before.other && f; }, 10_000, {
    what: `baton's non-upstream fds back to ${before.other} (now ${JSON.stringify(fds())})`,
  });
  assert.ok(afterRounds.upstream <= 60, `${afterRounds.upstream} pooled upstream connections after rounds of at most ~55 concurrent requests`);
  const rss = rssKiB(pid);
  console.log(`# fault rounds: fds ${JSON.stringify(before)} -> ${JSON.stringify(afterRounds)}, RSS ${(rssBefore / 1024).toFixed(1)} -> ${(rss / 1024).toFixed(1)} MiB`);
  assertMemory(rss <= rssBefore * 1.10 + 2048, `RSS grew from ${rssBefore} KiB to ${rss} KiB over 3 fault rounds`);
});

test('10,000 idle keep-alive connections: all served and held, a new client is still served, RSS <= 150 MB, closing them frees every fd', { timeout: 300_000 }, async () => {
  const N = 10_000;
  const held = await startBaton(standardConfig(fx, { server: { idle_timeout_ms: 120_000 } }));
  const pid = held.proc.pid;
  const sockets = [];
  try {
    const fdsBefore = fdCount(pid);
    const openOne = () => new Promise((resolve, reject) => {
      const s = net.connect({ port: held.port, host: '127.0.0.1' });
      sockets.push(s);
      let got = '';
      const timer = setTimeout(() => reject(new Error(`no answer on connection ${sockets.length}`)), 30_000);
      s.on('error', (e) => { clearTimeout(timer); reject(e); });
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n[\s\S]+$/.test(got)) { clearTimeout(timer); resolve(); }
      });
      s.once('connect', () => s.write('GET /health/live HTTP/1.1\r\nHost: baton\r\n\r\n'));
    });
    for (let opened = 0; opened < N; opened += 500) {
      await Promise.all(Array.from({ length: Math.min(500, N - opened) }, openOne));
    }
    assert.equal(sockets.filter((s) => !s.destroyed).length, N);
    await waitFor(() => fdCount(pid) >= fdsBefore + N, 10_000, { what: `baton holds ${N} client connections` });

    const heldClient = openaiClient(held.url);
    const ok = await heldClient.chat.completions.create({ model: 'gpt-test', messages });
    assert.equal(ok.choices[0].message.content, 'tok0 tok1 tok2 ');
    const rssMB = (rssKiB(pid) * 1024) / 1e6;
    console.log(`# ${N} idle keep-alive connections: baton RSS ${rssMB.toFixed(1)} MB, fds ${fdCount(pid)}`);
    assertMemory(rssMB <= 150, `RSS ${rssMB.toFixed(1)} MB with ${N} idle connections`);

    for (const s of sockets) s.destroy();
    await waitFor(() => fdCount(pid) <= fdsBefore + 2, 20_000, { what: 'baton closed every client connection' });
    await held.assertAlive();
  } finally {
    for (const s of sockets) s.destroy();
    await held.stop();
  }
});
