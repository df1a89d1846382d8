// Mid-stream continuation: when a streamed chat answer's upstream dies, stalls or sends garbage
// after the first event reached the client, baton continues the answer on another deployment (or
// a fallback model) with the text so far as an assistant prefill, and splices the continuation
// into the same client stream (one id, one finish, one [DONE], combined usage).
//
// Every "provider" is the same fixture upstream behind its own knob prefix
// (`/k/tag=NAME,chunks=12,die_after=K/v1`); faults are injected through the URL, never through
// the body's `fixture` field, because baton forwards the client's body to every attempt: a body
// knob `die_after` would kill the continuation too. The continuation provider answers distinct
// words (CONT_TEXT), so the spliced content tells both attempts apart. `[flakyK, cont]` models
// use `strategy: priority`, so every request's first attempt goes to the faulty deployment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import OpenAI from 'openai';
import { startFixture, contentPieces } from '../fixture/upstream.mjs';
import { startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig, UPSTREAM_KEY } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream, sseData } from './lib/http.mjs';

const UPSTREAM_MODEL = 'upstream-model-id';
const NEVER_TRIP = { consecutive_failures: 1000, failure_ratio: 0 }; // the most baton accepts; ~91 deaths per flaky deployment here
const FLAKY_CHUNKS = 12;
const CONT_TEXT = 'more0 more1 more2 more3';
const CONT_PIECES = contentPieces({ text: CONT_TEXT }); // ['more0 ', 'more1 ', 'more2 ', 'more3']
const K_MAX = FLAKY_CHUNKS - 1; // die_after in 1..11: always before the finish chunk
const ACCEPTANCE_REQUESTS = Number(process.env.CONTINUATION_REQUESTS || 1000);
const ACCEPTANCE_CONCURRENCY = 8;
const STREAM_DEADLINE_MS = 10_000;

/** What the flaky upstream streamed before dying after `k` content chunks. */
const partial = (k) => contentPieces({ chunks: FLAKY_CHUNKS }).slice(0, k).join('');

let fx;
let baton;
let client;
let scripted; // inline upstream: a tool_call delta then death; a finished answer without [DONE]
let framing; // raw TCP upstream: two good SSE events, then bytes that break the chunked framing
const raw = new Map(); // marker -> Promise<string>: the raw SSE body the SDK read (tee'd)
let seq = 0;
const marker = (what) => `${what}-${process.pid}-${seq++}`;

const id = (provider) => `${provider}/${UPSTREAM_MODEL}`;
const dep = (provider) => ({ provider, model: UPSTREAM_MODEL });
function fxProvider(name, knobs = {}, extra = {}) {
  return { kind: 'openai', base_url: fx.url({ tag: name, ...knobs }), api_key: UPSTREAM_KEY, ...extra };
}

function continuationConfig() {
  const providers = {
    cont: fxProvider('cont', { text: CONT_TEXT }),
    echo: fxProvider('echo', { chunks: FLAKY_CHUNKS }), // repeats the prefill, like llama.cpp
    stall: fxProvider('stall', { chunks: FLAKY_CHUNKS, stall_after: 3 }, { timeouts: { stall_ms: 300 } }),
    bad: fxProvider('bad', { chunks: 6, malformed: 1 }),
    framing: { kind: 'openai', base_url: `http://127.0.0.1:${framing.port}/v1`, api_key: UPSTREAM_KEY },
    tooly: { kind: 'openai', base_url: `http://127.0.0.1:${scripted.port}/s/tools/v1`, api_key: UPSTREAM_KEY },
    finished: { kind: 'openai', base_url: `http://127.0.0.1:${scripted.port}/s/finished/v1`, api_key: UPSTREAM_KEY },
    dead: { kind: 'openai', base_url: 'http://127.0.0.1:1/v1', api_key: UPSTREAM_KEY },
  };
  const models = [];
  for (let k = 1; k <= K_MAX; k++) {
    providers[`flaky${k}`] = fxProvider(`flaky${k}`, { chunks: FLAKY_CHUNKS, die_after: k });
    models.push({ name: `cont-${k}`, strategy: 'priority', deployments: [dep(`flaky${k}`), dep('cont')], breaker: NEVER_TRIP });
  }
  models.push(
    { name: 'echo-3', strategy: 'priority', deployments: [dep('flaky3'), dep('echo')], breaker: NEVER_TRIP },
    { name: 'two-hops', strategy: 'priority', deployments: [dep('flaky3'), dep('flaky5'), dep('cont')], breaker: NEVER_TRIP },
    { name: 'stall', strategy: 'priority', deployments: [dep('stall'), dep('cont')], breaker: NEVER_TRIP },
    { name: 'garbage', strategy: 'priority', deployments: [dep('bad'), dep('cont')], breaker: NEVER_TRIP },
    { name: 'framing', strategy: 'priority', deployments: [dep('framing'), dep('cont')], breaker: NEVER_TRIP },
    { name: 'finished', strategy: 'priority', deployments: [dep('finished'), dep('cont')], breaker: NEVER_TRIP },
    { name: 'tools', strategy: 'priority', deployments: [dep('tooly'), dep('cont')], breaker: NEVER_TRIP },
    { name: 'solo', deployments: [dep('flaky4')], breaker: NEVER_TRIP },
    { name: 'nowhere', strategy: 'priority', deployments: [dep('flaky4'), dep('dead')], retry: { max_attempts: 2, base_backoff_ms: 10, max_backoff_ms: 20 }, breaker: NEVER_TRIP },
    { name: 'cont-only', deployments: [dep('cont')], breaker: NEVER_TRIP },
    { name: 'with-fallback', deployments: [dep('flaky5')], fallbacks: ['cont-only'], retry: { max_attempts: 1 }, breaker: NEVER_TRIP },
  );
  return standardConfig(fx, { providers, models });
}

/**
 * node:http upstream with scripted streams, by base path `/s/<scenario>/v1`:
 *   tools    -> two events with tool_call deltas, then the socket is destroyed;
 *   finished -> two content events and the finish event, then the socket is destroyed (no [DONE]).
 */
async function startScriptedUpstream() {
  const srv = { requests: [] };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      let body = null;
      try { body = JSON.parse(Buffer.concat(parts).toString('utf8')); } catch { /* recorded as null */ }
      const scenario = /^\/s\/([^/]+)\//.exec(req.url)?.[1];
      srv.requests.push({ scenario, body });
      const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: `chatcmpl-${scenario}-1`, object: 'chat.completion.chunk', created: 1700000000,
        model: body?.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
      const frames = scenario === 'tools'
        ? [chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })]
        : [chunk({ role: 'assistant', content: 'tok0 ' }), chunk({ content: 'tok1 ' }), chunk({}, 'stop')];
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(frames.join(''), () => res.socket?.destroy());
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  srv.port = server.address().port;
  srv.close = () => new Promise((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); });
  return srv;
}

/**
 * Raw TCP upstream: a chunked 200 event-stream with two good content events, then a line that is
 * no chunk size at all (garbage in the framing); the socket stays open.
 */
async function startFramingUpstream() {
  const srv = { count: 0 };
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      srv.count++;
      const ev = (i) => `data: ${JSON.stringify({ id: 'chatcmpl-framing', object: 'chat.completion.chunk', created: 1700000000,
        model: UPSTREAM_MODEL, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: 'tok0 ' } : { content: `tok${i} ` }, finish_reason: null }] })}\n\n`;
      const chunked = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n');
      socket.write(chunked(ev(0)) + chunked(ev(1)));
      setTimeout(() => socket.write('this is not a chunk size\r\n\u0000\u0001garbage\r\n\r\n'), 20);
    });
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  srv.port = server.address().port;
  srv.close = () => new Promise((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); });
  return srv;
}

before(async () => {
  fx = await startFixture();
  scripted = await startScriptedUpstream();
  framing = await startFramingUpstream();
  baton = await startBaton(continuationConfig());
  // The SDK reads the stream; a tee of the same response keeps the raw SSE text for inspection.
  client = openaiClient(baton.url, {
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      let key;
      try { key = JSON.parse(init.body).user; } catch { /* not ours */ }
      if (key && res.body) raw.set(key, res.clone().text().catch((e) => `<<raw read failed: ${e.message}>>`));
      return res;
    },
  });
});
// A crash (signal, abort) shows up on the test that caused it, with baton's stderr.
afterEach(() => baton?.assertAlive());
after(async () => {
  await baton?.stop();
  await fx?.close();
  await scripted?.close();
  await framing?.close();
});

// ---------------------------------------------------------------------------------------------
// helpers

/** The fixture's chat requests for one client request (matched by the `user` marker), in order. */
const upstreamFor = (user) => fx.requests.filter((r) => r.endpoint === 'chat/completions' && r.body?.user === user);

/** SDK stream read to the end (bounded); adds headers, the raw SSE text and timing. */
async function sdkStream(model, { user = marker(model), messages, ...extra } = {}) {
  const t0 = Date.now();
  const msgs = messages ?? [{ role: 'user', content: `continue me ${user}` }];
  const { data: stream, response } = await client.chat.completions
    .create({ model, messages: msgs, stream: true, user, ...extra })
    .withResponse();
  const r = await collectStream(stream, { deadlineMs: STREAM_DEADLINE_MS });
  const rawText = r.timedOut ? '' : await Promise.race([
    raw.get(user) ?? Promise.resolve('<<no raw tee>>'),
    new Promise((res) => setTimeout(() => res('<<raw tee timed out>>'), 5000).unref()),
  ]);
  raw.delete(user);
  return {
    ...r,
    user,
    messages: msgs,
    rawText,
    totalMs: Date.now() - t0,
    deployment: response.headers.get('x-baton-deployment'),
    attempts: response.headers.get('x-baton-attempts'),
  };
}

const describe = (r) => `content=${JSON.stringify(r.content)} error=${r.error?.constructor?.name}: ${r.error?.message} `
  + `timedOut=${r.timedOut} deployment=${r.deployment} attempts=${r.attempts} raw=${JSON.stringify(r.rawText?.slice(-600))}`;

/**
 * Why a finished SDK stream is not a well-formed spliced stream with `expected` content (empty
 * list: it is). Checks the SDK view (no throw, one id, one finish on the last choice-bearing
 * chunk, content) and the raw SSE (parseable JSON events, exactly one [DONE], at the end).
 */
function streamProblems(r, expected) {
  const why = [];
  if (r.timedOut) why.push('timed out');
  if (r.error) why.push(`SDK threw ${r.error.constructor?.name}: ${r.error.message}`);
  const ids = new Set(r.chunks.map((c) => c.id));
  if (ids.size !== 1) why.push(`ids: ${[...ids].join(',')}`);
  const finishes = r.chunks.map((c, i) => [i, c.choices?.[0]?.finish_reason]).filter(([, f]) => f != null);
  const lastWithChoices = r.chunks.findLastIndex((c) => (c.choices?.length ?? 0) > 0);
  if (finishes.length !== 1) why.push(`${finishes.length} finish_reason chunks`);
  else if (finishes[0][0] !== lastWithChoices || finishes[0][1] !== 'stop') why.push(`finish ${finishes[0][1]} at ${finishes[0][0]}, last choice chunk ${lastWithChoices}`);
  if (r.content !== expected) why.push(`content ${JSON.stringify(r.content)} != ${JSON.stringify(expected)}`);
  const events = sseData(r.rawText ?? '');
  const dones = events.filter((d) => d === '[DONE]').length;
  if (dones !== 1 || events.at(-1) !== '[DONE]') why.push(`raw: ${dones} [DONE], last event ${JSON.stringify(events.at(-1))}`);
  for (const d of events) {
    if (d === '[DONE]') continue;
    try {
      const j = JSON.parse(d);
      if (j.error) why.push(`raw error event ${d}`);
    } catch { why.push(`raw non-JSON event ${JSON.stringify(d.slice(0, 100))}`); }
  }
  return why;
}

/** Run `fn(i)` for i in [0, n) with at most `width` in flight. */
async function pool(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

// ---------------------------------------------------------------------------------------------
// 1. acceptance

test(`acceptance: ${ACCEPTANCE_REQUESTS} streams die after k in 1..${K_MAX} chunks -> >= 99% spliced well-formed`, { timeout: 300_000 }, async (t) => {
  const t0 = Date.now();
  const results = await pool(ACCEPTANCE_REQUESTS, ACCEPTANCE_CONCURRENCY, async (i) => {
    const k = 1 + Math.floor(Math.random() * K_MAX);
    const user = marker(`acc${i}`);
    let r;
    try {
      r = await sdkStream(`cont-${k}`, { user });
    } catch (e) { // the request itself failed (no 200 head)
      return { i, k, user, problems: [`create() threw ${e.constructor?.name}: ${e.message}`], totalMs: Date.now() - t0, r: null };
    }
    const problems = streamProblems(r, partial(k) + CONT_TEXT);
    if (r.deployment !== id(`flaky${k}`)) problems.push(`x-baton-deployment ${r.deployment}`);
    if (r.attempts !== '1') problems.push(`x-baton-attempts ${r.attempts}`);
    return { i, k, user, problems, totalMs: r.totalMs, r };
  });
  const wallMs = Date.now() - t0;

  // What the fixture saw: per request the dying first attempt, then one continuation whose
  // messages end with the streamed text as an assistant prefill.
  const prefillProblems = [];
  for (const res of results) {
    const ups = upstreamFor(res.user);
    const why = [];
    if (ups.length !== 2) why.push(`${ups.length} upstream requests (${ups.map((u) => u.knobs?.tag).join(',')})`);
    else {
      const [first, second] = ups;
      if (first.knobs.tag !== `flaky${res.k}`) why.push(`first attempt went to ${first.knobs.tag}`);
      if (second.knobs.tag !== 'cont') why.push(`continuation went to ${second.knobs.tag}`);
      const msgs = second.body?.messages ?? [];
      const original = res.r?.messages ?? [];
      try {
        assert.deepEqual(msgs, [...original, { role: 'assistant', content: partial(res.k) }]);
      } catch { why.push(`continuation messages ${JSON.stringify(msgs)}`); }
      // The one id on the client is the first attempt's.
      const want = `chatcmpl-fx-${first.id}`;
      if (res.r && res.r.chunks.some((c) => c.id !== want)) why.push(`chunk id is not the first attempt's ${want}`);
    }
    if (why.length) { res.problems.push(...why); prefillProblems.push({ user: res.user, k: res.k, why }); }
  }

  const good = results.filter((x) => x.problems.length === 0).length;
  const rate = good / results.length;
  const times = results.map((x) => x.totalMs);
  t.diagnostic(`well-formed: ${good}/${results.length} = ${(rate * 100).toFixed(2)}%`);
  t.diagnostic(`wall ${wallMs} ms; per stream p50 ${pct(times, 50)} ms, p95 ${pct(times, 95)} ms, p99 ${pct(times, 99)} ms, max ${Math.max(...times)} ms`);
  const byK = {};
  for (const x of results) byK[x.k] = (byK[x.k] ?? 0) + 1;
  t.diagnostic(`die_after distribution: ${JSON.stringify(byK)}`);
  const bad = results.filter((x) => x.problems.length);
  for (const x of bad.slice(0, 8)) t.diagnostic(`ill-formed #${x.i} k=${x.k}: ${x.problems.join('; ')}${x.r ? ` | ${describe(x.r)}` : ''}`);

  assert.ok(rate >= 0.99, `well-formed ${good}/${results.length}; first problems: ${JSON.stringify(bad.slice(0, 5).map((x) => ({ k: x.k, p: x.problems })))}`);
  // The prefill is deterministic: it must be exactly what reached the client, every time.
  assert.deepEqual(prefillProblems.slice(0, 5), [], `${prefillProblems.length} requests whose continuation was not as expected`);
});

// ---------------------------------------------------------------------------------------------
// 2..3. the other faults: stall, garbage

test('stall mid-stream (stall_after=3, stall_ms 300) -> continued on the next deployment, well under 2 s', { timeout: 30_000 }, async (t) => {
  const r = await sdkStream('stall');
  t.diagnostic(`stall: total ${r.totalMs} ms`);
  assert.deepEqual(streamProblems(r, partial(3) + CONT_TEXT), [], describe(r));
  assert.equal(r.deployment, id('stall'));
  assert.equal(r.attempts, '1');
  assert.ok(r.totalMs >= 300, `continued after ${r.totalMs} ms, before the 300 ms stall_ms`);
  assert.ok(r.totalMs < 1500, `took ${r.totalMs} ms`);
  const ups = upstreamFor(r.user);
  assert.deepEqual(ups.map((u) => u.knobs.tag), ['stall', 'cont']);
  assert.deepEqual(ups[1].body.messages.at(-1), { role: 'assistant', content: partial(3) });
  // baton gave up on the stalled upstream: its connection was closed, not left open.
  await waitFor(() => fx.events.find((e) => e.reqId === ups[0].id), 3000, { what: 'stalled upstream connection closed' });
});

// The fixture's `malformed=1` on a stream inserts `data: {"id":"broken", "choices": [` (truncated
// JSON) right after the first content chunk, then goes on normally.
test('garbage event mid-stream (malformed=1) -> not relayed; continued on the next deployment', { timeout: 30_000 }, async () => {
  const r = await sdkStream('garbage');
  const ups = upstreamFor(r.user);
  const ctx = `${describe(r)} upstream tags=${ups.map((u) => u.knobs.tag)}`;
  assert.deepEqual(streamProblems(r, partial(1) + CONT_TEXT), [], ctx);
  assert.equal(r.deployment, id('bad'));
  assert.deepEqual(ups.map((u) => u.knobs.tag), ['bad', 'cont'], ctx);
  assert.deepEqual(ups[1].body.messages.at(-1), { role: 'assistant', content: partial(1) });
});

test('garbage in the chunked framing mid-stream (raw TCP upstream) -> continued on the next deployment', { timeout: 30_000 }, async () => {
  const before = framing.count;
  const r = await sdkStream('framing');
  const ups = upstreamFor(r.user);
  assert.equal(framing.count - before, 1);
  assert.deepEqual(streamProblems(r, 'tok0 tok1 ' + CONT_TEXT), [], describe(r));
  assert.equal(r.deployment, id('framing'));
  assert.equal(ups.length, 1, 'one continuation request on the fixture');
  assert.deepEqual(ups[0].body.messages.at(-1), { role: 'assistant', content: 'tok0 tok1 ' });
  assert.ok(r.chunks.every((c) => c.id === 'chatcmpl-framing'), `ids ${[...new Set(r.chunks.map((c) => c.id))]}`);
});

// ---------------------------------------------------------------------------------------------
// 4. usage

/** The fixture's own usage formula (tests/fixture/upstream.mjs usageFor). */
const fixtureUsage = (body, n) => {
  const prompt = JSON.stringify(body?.messages ?? body?.input ?? '').split(/\s+/).length;
  return { prompt_tokens: prompt, completion_tokens: n, total_tokens: prompt + n };
};

test('include_usage: one final usage chunk = estimate for the cut attempt + the continuation\'s usage', { timeout: 30_000 }, async () => {
  const k = 5;
  const user = marker('usage');
  // A body with known bytes: baton estimates the cut attempt's prompt as body bytes / 4.
  const bodyText = JSON.stringify({ model: `cont-${k}`, messages: [{ role: 'user', content: `count my tokens please ${user}` }],
    stream: true, stream_options: { include_usage: true }, user });
  const res = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', body: bodyText, timeoutMs: STREAM_DEADLINE_MS });
  assert.equal(res.status, 200, res.text);
  const events = sseData(res.text);
  assert.equal(events.at(-1), '[DONE]', res.text.slice(-500));
  assert.equal(events.filter((d) => d === '[DONE]').length, 1);
  const chunks = events.slice(0, -1).map((d) => JSON.parse(d));
  const usageChunks = chunks.filter((c) => c.usage != null);
  assert.equal(usageChunks.length, 1, `usage chunks: ${JSON.stringify(usageChunks)}`);
  const last = chunks.at(-1);
  assert.equal(last, usageChunks[0], 'the usage chunk is the last before [DONE]');
  assert.deepEqual(last.choices, []);
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, `ids: ${chunks.map((c) => c.id)}`);
  assert.equal(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), partial(k) + CONT_TEXT);

  const ups = upstreamFor(user);
  assert.deepEqual(ups.map((u) => u.knobs.tag), [`flaky${k}`, 'cont']);
  const estimate = { prompt: Math.floor(Buffer.byteLength(bodyText) / 4), completion: k };
  const cont = fixtureUsage(ups[1].body, CONT_PIECES.length);
  const want = {
    prompt_tokens: estimate.prompt + cont.prompt_tokens,
    completion_tokens: estimate.completion + cont.completion_tokens,
    total_tokens: estimate.prompt + estimate.completion + cont.total_tokens,
  };
  assert.deepEqual(last.usage, want, `estimate ${JSON.stringify(estimate)} + continuation ${JSON.stringify(cont)}`);
});

test('two continuations in one stream (the second deployment dies too): one id, usage of all three attempts', { timeout: 30_000 }, async () => {
  // flaky3 streams tok0..tok2 and dies; flaky5 repeats tok0..tok2 (stripped as the echo), adds
  // tok3 tok4 and dies; cont finishes after the prefill tok0..tok4.
  const user = marker('hops');
  const bodyText = JSON.stringify({ model: 'two-hops', messages: [{ role: 'user', content: `hop twice ${user}` }],
    stream: true, stream_options: { include_usage: true }, user });
  const res = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', body: bodyText, timeoutMs: STREAM_DEADLINE_MS });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['x-baton-deployment'], id('flaky3'));
  assert.equal(res.headers['x-baton-attempts'], '1');
  const events = sseData(res.text);
  assert.equal(events.at(-1), '[DONE]', res.text.slice(-500));
  assert.equal(events.filter((d) => d === '[DONE]').length, 1);
  const chunks = events.slice(0, -1).map((d) => JSON.parse(d));
  assert.equal(chunks.filter((c) => c.error).length, 0, res.text.slice(-500));
  assert.equal(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), partial(5) + CONT_TEXT);
  assert.equal(chunks.filter((c) => c.choices?.[0]?.finish_reason != null).length, 1);
  const ups = upstreamFor(user);
  assert.deepEqual(ups.map((u) => u.knobs.tag), ['flaky3', 'flaky5', 'cont']);
  assert.deepEqual(ups[1].body.messages.at(-1), { role: 'assistant', content: partial(3) });
  assert.deepEqual(ups[2].body.messages.at(-1), { role: 'assistant', content: partial(5) });
  assert.equal(ups[2].body.messages.filter((m) => m.role === 'assistant').length, 1, 'one prefill, not one per hop');
  assert.deepEqual([...new Set(chunks.map((c) => c.id))], [`chatcmpl-fx-${ups[0].id}`]);

  const usage = chunks.filter((c) => c.usage != null);
  assert.equal(usage.length, 1, JSON.stringify(usage));
  const est = Math.floor(Buffer.byteLength(bodyText) / 4);
  const cont = fixtureUsage(ups[2].body, CONT_PIECES.length);
  // Cut attempts: prompt estimated, completion = content chunks relayed (flaky5's echo adds none).
  assert.deepEqual(usage[0].usage, {
    prompt_tokens: est + est + cont.prompt_tokens,
    completion_tokens: 3 + 2 + cont.completion_tokens,
    total_tokens: est + 3 + est + 2 + cont.total_tokens,
  });
});

test('no include_usage: a continued stream carries no usage chunk', { timeout: 30_000 }, async () => {
  const r = await sdkStream('cont-6');
  assert.deepEqual(streamProblems(r, partial(6) + CONT_TEXT), [], describe(r));
  const chunks = sseData(r.rawText).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
  assert.equal(chunks.filter((c) => 'usage' in c && c.usage != null).length, 0, JSON.stringify(chunks.filter((c) => c.usage)));
  assert.equal(chunks.filter((c) => Array.isArray(c.choices) && c.choices.length === 0).length, 0);
});

// ---------------------------------------------------------------------------------------------
// 5..6. continuation impossible -> an error event and a proper end

/** Raw SSE of a stream that must end in an error event after `content` was delivered. */
function assertEndsWithError(res, content, what) {
  assert.equal(res.status, 200, `${what}: ${res.text}`);
  const events = sseData(res.text);
  const errIdx = events.findIndex((d) => d !== '[DONE]' && JSON.parse(d).error);
  assert.ok(errIdx >= 0, `${what}: no error event in ${JSON.stringify(res.text.slice(-800))}`);
  const err = JSON.parse(events[errIdx]).error;
  assert.equal(typeof err.message, 'string');
  assert.ok('type' in err && 'code' in err, JSON.stringify(err));
  const before = events.slice(0, errIdx).map((d) => JSON.parse(d));
  assert.equal(before.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), content, what);
  assert.ok(before.every((c) => c.choices?.[0]?.finish_reason == null), `${what}: no finish before the error`);
  assert.ok(events.slice(errIdx + 1).every((d) => d === '[DONE]'), `${what}: only [DONE] may follow the error: ${JSON.stringify(events.slice(errIdx + 1))}`);
  return err;
}

test('single deployment, no fallbacks: death mid-stream -> APIError after the delivered chunks, no hang', { timeout: 30_000 }, async () => {
  const r = await sdkStream('solo');
  assert.equal(r.timedOut, false, 'stream hung');
  assert.ok(r.error instanceof OpenAI.APIError, `expected APIError, got ${describe(r)}`);
  assert.equal(r.content, partial(4));
  assert.equal(r.chunks.length, 4);
  assert.ok(r.totalMs < 3000, `took ${r.totalMs} ms`);
  assert.deepEqual(upstreamFor(r.user).map((u) => u.knobs.tag), ['flaky4'], 'no second attempt after the head went out');

  const res = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', timeoutMs: STREAM_DEADLINE_MS,
    body: { model: 'solo', messages: [{ role: 'user', content: 'solo raw' }], stream: true } });
  const err = assertEndsWithError(res, partial(4), 'solo raw');
  assert.match(err.message, /flaky4/);
});

test('continuation deployment unreachable, retries spent -> error event after the delivered chunks, no hang', { timeout: 30_000 }, async () => {
  const user = marker('nowhere');
  const t0 = Date.now();
  const res = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', timeoutMs: STREAM_DEADLINE_MS,
    body: { model: 'nowhere', messages: [{ role: 'user', content: 'nowhere' }], stream: true, user } });
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  assert.equal(res.headers['x-baton-deployment'], id('flaky4'));
  assertEndsWithError(res, partial(4), 'nowhere');
  assert.deepEqual(upstreamFor(user).map((u) => u.knobs.tag), ['flaky4']);

  const r = await sdkStream('nowhere');
  assert.equal(r.timedOut, false, 'stream hung');
  assert.ok(r.error instanceof OpenAI.APIError, `expected APIError, got ${describe(r)}`);
  assert.equal(r.content, partial(4));
});

test('tool-call deltas already streamed -> no continuation; error event', { timeout: 30_000 }, async () => {
  const before = scripted.requests.length;
  const r = await sdkStream('tools', { tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] });
  assert.equal(r.timedOut, false, 'stream hung');
  assert.ok(r.error instanceof OpenAI.APIError, `expected APIError, got ${describe(r)}`);
  assert.equal(r.chunks.length, 2, describe(r));
  assert.equal(r.chunks[0].choices[0].delta.tool_calls[0].function.name, 'get_weather');
  assert.equal(scripted.requests.length - before, 1);
  assert.deepEqual(upstreamFor(r.user), [], 'a stream with tool-call deltas must not be continued');
  const events = sseData(r.rawText);
  assert.ok(events.some((d) => d !== '[DONE]' && JSON.parse(d).error), r.rawText.slice(-500));
});

// ---------------------------------------------------------------------------------------------
// 7. id, headers; echo; fallback; a finished answer missing only [DONE]

test('one id (the first attempt\'s) and x-baton-deployment of the first deployment', { timeout: 30_000 }, async () => {
  const r = await sdkStream('cont-3');
  assert.deepEqual(streamProblems(r, partial(3) + CONT_TEXT), [], describe(r));
  assert.equal(r.deployment, id('flaky3'), 'the head went out with the first deployment');
  assert.equal(r.attempts, '1', 'attempts made before the head went out');
  const ups = upstreamFor(r.user);
  assert.deepEqual(ups.map((u) => u.knobs.tag), ['flaky3', 'cont']);
  const [firstId, contId] = ups.map((u) => `chatcmpl-fx-${u.id}`);
  assert.notEqual(firstId, contId);
  assert.deepEqual([...new Set(r.chunks.map((c) => c.id))], [firstId], 'the continuation\'s chunks carry the first id');
  // The continuation's chunks are really spliced in (3 from the first attempt, then 4 + finish).
  assert.equal(r.chunks.length, 3 + CONT_PIECES.length + 1);
});

test('an upstream that repeats the prefill (echo) -> the repeat is stripped', { timeout: 30_000 }, async (t) => {
  const r = await sdkStream('echo-3');
  const full = contentPieces({ chunks: FLAKY_CHUNKS }).join('');
  assert.deepEqual(streamProblems(r, full), [], describe(r));
  const ups = upstreamFor(r.user);
  assert.deepEqual(ups.map((u) => u.knobs.tag), ['flaky3', 'echo']);
  assert.deepEqual(ups[1].body.messages.at(-1), { role: 'assistant', content: partial(3) });
  // The stripped echo chunks stay in the stream as `"content":""` deltas (valid OpenAI shape, as
  // is the continuation's repeated `role`); the spliced text above is what counts.
  const empty = r.chunks.filter((c) => c.choices?.[0]?.delta?.content === '').length;
  t.diagnostic(`echo: ${empty} empty-content deltas left by the stripped prefill`);
  assert.ok(empty <= 3, `at most one empty delta per echoed chunk: ${JSON.stringify(r.chunks.map((c) => c.choices?.[0]?.delta))}`);
});

test('continuation on a fallback model when the model has a single deployment', { timeout: 30_000 }, async () => {
  const r = await sdkStream('with-fallback');
  assert.deepEqual(streamProblems(r, partial(5) + CONT_TEXT), [], describe(r));
  assert.equal(r.deployment, id('flaky5'));
  assert.deepEqual(upstreamFor(r.user).map((u) => u.knobs.tag), ['flaky5', 'cont']);
});

test('finish_reason streamed, only [DONE] missing -> baton ends the stream with [DONE], no continuation', { timeout: 30_000 }, async () => {
  const before = scripted.requests.length;
  const r = await sdkStream('finished');
  assert.deepEqual(streamProblems(r, 'tok0 tok1 '), [], describe(r));
  assert.equal(r.deployment, id('finished'));
  assert.equal(scripted.requests.length - before, 1);
  assert.deepEqual(upstreamFor(r.user), [], 'a finished answer must not be continued');
});
