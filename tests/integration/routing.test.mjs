// Routing of the real baton binary: failover between deployments, retries with backoff and
// retry-after, circuit breakers (open, half-open probe, close), fallbacks to other models, the
// request's total deadline, and the strategies (weighted, least-busy, least-latency, cost).
//
// Every "provider" is the same fixture upstream behind a different knob prefix
// (`/k/tag=NAME,status=500/v1`), so `hits(NAME)` tells which deployment the fixture saw, in order.
// Each test uses its own providers: breaker state is kept per deployment id (provider/model) for
// the life of the process, so tests sharing one baton cannot disturb each other.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import OpenAI from 'openai';
import { startFixture, contentPieces } from '../fixture/upstream.mjs';
import { startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig, UPSTREAM_KEY } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream, sseData, errorOf } from './lib/http.mjs';

const UPSTREAM_MODEL = 'upstream-model-id';
const CONTENT = contentPieces().join(''); // what the fixture answers by default: 'tok0 tok1 tok2 '
const DEAD_URL = 'http://127.0.0.1:1/v1';
const NEVER_TRIP = { consecutive_failures: 1000, failure_ratio: 0 };
const messages = [{ role: 'user', content: 'route me' }];

let fx;
let baton;
let client;
let garbage; // a TCP upstream answering bytes that are not HTTP
let hangup; // a TCP upstream that reads the request and closes without answering

const dep = (provider, extra = {}) => ({ provider, model: UPSTREAM_MODEL, ...extra });
const id = (provider) => `${provider}/${UPSTREAM_MODEL}`;

/** A provider on the fixture whose requests carry `tag=NAME` (plus `knobs`) in their path. */
function fxProvider(name, knobs = {}, extra = {}) {
  return { kind: 'openai', base_url: fx.url({ tag: name, ...knobs }), api_key: UPSTREAM_KEY, ...extra };
}
const deadProvider = () => ({ kind: 'openai', base_url: DEAD_URL, api_key: UPSTREAM_KEY });

function routingConfig() {
  const providers = {
    // 1. failover
    fo_dead: deadProvider(),
    fo_ok: fxProvider('fo_ok'),
    // 2. 5xx storm + breaker, and a breaker whose probe succeeds
    storm500: fxProvider('storm500', { status: 500 }),
    storm_ok: fxProvider('storm_ok'),
    probe500: fxProvider('probe500', { status: 500 }),
    probe_ok: fxProvider('probe_ok'),
    nodep500: fxProvider('nodep500', { status: 500 }),
    ratio_flaky: fxProvider('ratio_flaky'),
    ratio_ok: fxProvider('ratio_ok'),
    // 3. 429 / retry-after / backoff
    rl429: fxProvider('rl429', { retry_after: 1 }),
    rlcap: fxProvider('rlcap', { retry_after: 5 }),
    rldl: fxProvider('rldl', { retry_after: 5 }),
    rlnext429: fxProvider('rlnext429', { retry_after: 2 }),
    rlnext_ok: fxProvider('rlnext_ok'),
    bo500: fxProvider('bo500', { status: 500 }),
    // 4. not retryable / 408 retryable
    br400: fxProvider('br400', { status: 400 }),
    br_ok: fxProvider('br_ok'),
    t408: fxProvider('t408', { status: 408 }),
    t408_ok: fxProvider('t408_ok'),
    // 5. hang before the first byte
    hang_slow: fxProvider('hang_slow', { delay_ms: 3000 }, { timeouts: { first_token_ms: 300 } }),
    hang_ok: fxProvider('hang_ok'),
    // 6. fallbacks
    fb_dead: deadProvider(),
    fb_dead2: deadProvider(),
    fb_dead3: deadProvider(),
    // 7. total deadline
    dl_slow: fxProvider('dl_slow', { delay_ms: 3000 }),
    dl_slow2: fxProvider('dl_slow2', { delay_ms: 3000 }),
    dl_drip: fxProvider('dl_drip', { chunks: 50, gap_ms: 50 }),
    all_dead1: deadProvider(),
    all_dead2: deadProvider(),
    mix500: fxProvider('mix500', { status: 500 }),
    mix_dead: deadProvider(),
    // 8. strategies
    w3: fxProvider('w3'),
    w1: fxProvider('w1'),
    lb_slow: fxProvider('lb_slow', { delay_ms: 300 }),
    lb_fast: fxProvider('lb_fast'),
    ll_slow: fxProvider('ll_slow', { delay_ms: 150 }),
    ll_fast: fxProvider('ll_fast'),
    c_pricey: fxProvider('c_pricey'),
    c_cheap: fxProvider('c_cheap'),
    cw_small: fxProvider('cw_small'),
    cw_big: fxProvider('cw_big'),
    cw_only: fxProvider('cw_only'),
    // 9. stream failures before the first event
    sd_die: fxProvider('sd_die', { die_after: 0 }),
    sd_ok: fxProvider('sd_ok'),
    ss_stall: fxProvider('ss_stall', { stall_after: 0 }, { timeouts: { first_token_ms: 300 } }),
    ss_ok: fxProvider('ss_ok'),
    s5_500: fxProvider('s5_500', { status: 500 }),
    s5_ok: fxProvider('s5_ok'),
    // malformed answers / lost connections
    junk: { kind: 'openai', base_url: `http://127.0.0.1:${garbage.port}/v1`, api_key: UPSTREAM_KEY },
    junk_ok: fxProvider('junk_ok'),
    drop: { kind: 'openai', base_url: `http://127.0.0.1:${hangup.port}/v1`, api_key: UPSTREAM_KEY },
    drop_ok: fxProvider('drop_ok'),
    badjson: fxProvider('badjson', { malformed: 1 }),
    badjson_ok: fxProvider('badjson_ok'),
  };
  const models = [
    { name: 'failover', strategy: 'priority', deployments: [dep('fo_dead'), dep('fo_ok')], breaker: NEVER_TRIP },
    { name: 'storm', strategy: 'priority', deployments: [dep('storm500'), dep('storm_ok')], breaker: { consecutive_failures: 3, cooldown_ms: 400 } },
    { name: 'probe', strategy: 'priority', deployments: [dep('probe500'), dep('probe_ok')], breaker: { consecutive_failures: 1, cooldown_ms: 300 } },
    { name: 'ratio', strategy: 'priority', deployments: [dep('ratio_flaky'), dep('ratio_ok')], retry: { max_attempts: 1 }, breaker: { consecutive_failures: 5, cooldown_ms: 60_000, min_requests: 10 } },
    { name: 'nodep', deployments: [dep('nodep500')], retry: { max_attempts: 1 }, breaker: { consecutive_failures: 1, cooldown_ms: 60_000 } },
    { name: 'ratelimited', deployments: [dep('rl429')], retry: { max_attempts: 2, max_backoff_ms: 1500 }, breaker: NEVER_TRIP },
    { name: 'ratecap', deployments: [dep('rlcap')], retry: { max_attempts: 2, max_backoff_ms: 300 }, breaker: NEVER_TRIP },
    { name: 'ratedeadline', deployments: [dep('rldl')], retry: { max_attempts: 3, max_backoff_ms: 10_000 }, timeouts: { total_ms: 2000 }, breaker: NEVER_TRIP },
    { name: 'ratenext', strategy: 'priority', deployments: [dep('rlnext429'), dep('rlnext_ok')], retry: { max_attempts: 2, max_backoff_ms: 5000 }, breaker: NEVER_TRIP },
    { name: 'backoff', deployments: [dep('bo500')], retry: { max_attempts: 3, base_backoff_ms: 200, max_backoff_ms: 2000 }, breaker: NEVER_TRIP },
    { name: 'badreq', strategy: 'priority', deployments: [dep('br400'), dep('br_ok')], breaker: NEVER_TRIP },
    { name: 'timeout408', strategy: 'priority', deployments: [dep('t408'), dep('t408_ok')], breaker: NEVER_TRIP },
    { name: 'hang', strategy: 'priority', deployments: [dep('hang_slow'), dep('hang_ok')], breaker: NEVER_TRIP },
    { name: 'primary', deployments: [dep('fb_dead')], fallbacks: ['gpt-test'], retry: { max_attempts: 1 }, breaker: NEVER_TRIP },
    { name: 'mid', deployments: [dep('fb_dead3')], retry: { max_attempts: 1 }, breaker: NEVER_TRIP },
    { name: 'primary2', deployments: [dep('fb_dead2')], fallbacks: ['mid', 'gpt-test'], retry: { max_attempts: 2, base_backoff_ms: 10, max_backoff_ms: 20 }, breaker: NEVER_TRIP },
    { name: 'deadline', deployments: [dep('dl_slow')], timeouts: { total_ms: 600, first_token_ms: 10_000 }, breaker: NEVER_TRIP },
    { name: 'deadline-retries', deployments: [dep('dl_slow2')], timeouts: { total_ms: 600, first_token_ms: 250 }, retry: { max_attempts: 5, base_backoff_ms: 20, max_backoff_ms: 50 }, breaker: NEVER_TRIP },
    { name: 'deadline-stream', deployments: [dep('dl_drip')], timeouts: { total_ms: 600 }, breaker: NEVER_TRIP },
    { name: 'alldead', strategy: 'priority', deployments: [dep('all_dead1'), dep('all_dead2')], retry: { max_attempts: 3, base_backoff_ms: 10, max_backoff_ms: 20 }, breaker: NEVER_TRIP },
    { name: 'mixed', strategy: 'priority', deployments: [dep('mix500'), dep('mix_dead')], retry: { max_attempts: 2 }, breaker: NEVER_TRIP },
    { name: 'weighted', strategy: 'weighted', deployments: [dep('w3', { weight: 3 }), dep('w1', { weight: 1 })], breaker: NEVER_TRIP },
    { name: 'least-busy', strategy: 'least-busy', deployments: [dep('lb_slow'), dep('lb_fast')], breaker: NEVER_TRIP },
    { name: 'least-latency', strategy: 'least-latency', deployments: [dep('ll_slow'), dep('ll_fast')], breaker: NEVER_TRIP },
    {
      name: 'cost',
      strategy: 'cost',
      deployments: [
        dep('c_pricey', { price: { input_per_mtok: 1.0, output_per_mtok: 1.0 } }),
        dep('c_cheap', { price: { input_per_mtok: 0.1, output_per_mtok: 0.1 } }),
      ],
      breaker: NEVER_TRIP,
    },
    { name: 'ctx', strategy: 'priority', deployments: [dep('cw_small', { context_window: 1000 }), dep('cw_big', { context_window: 1_000_000 })], breaker: NEVER_TRIP },
    { name: 'ctx-only', deployments: [dep('cw_only', { context_window: 1000 })], breaker: NEVER_TRIP },
    { name: 'stream-die', strategy: 'priority', deployments: [dep('sd_die'), dep('sd_ok')], breaker: NEVER_TRIP },
    { name: 'stream-stall', strategy: 'priority', deployments: [dep('ss_stall'), dep('ss_ok')], breaker: NEVER_TRIP },
    { name: 'stream-500', strategy: 'priority', deployments: [dep('s5_500'), dep('s5_ok')], breaker: NEVER_TRIP },
    { name: 'junk', strategy: 'priority', deployments: [dep('junk'), dep('junk_ok')], breaker: NEVER_TRIP },
    { name: 'junk-only', deployments: [dep('junk')], retry: { max_attempts: 1 }, breaker: NEVER_TRIP },
    { name: 'drop', strategy: 'priority', deployments: [dep('drop'), dep('drop_ok')], breaker: NEVER_TRIP },
    { name: 'drop-only', deployments: [dep('drop')], retry: { max_attempts: 1 }, breaker: NEVER_TRIP },
    { name: 'badjson', strategy: 'priority', deployments: [dep('badjson'), dep('badjson_ok')], breaker: NEVER_TRIP },
  ];
  return standardConfig(fx, { providers, models });
}

/**
 * A bare TCP upstream: once a request's head has arrived, `onRequest(socket)` answers (or not).
 * Counts the requests it saw in `.count`.
 */
async function startTcpUpstream(onRequest) {
  const sockets = new Set();
  const srv = { count: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) { srv.count++; onRequest(socket); }
    });
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  srv.port = server.address().port;
  srv.close = () => new Promise((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); });
  return srv;
}

before(async () => {
  garbage = await startTcpUpstream((s) => s.end('this is not http at all\r\n\r\n'));
  hangup = await startTcpUpstream((s) => s.destroy());
  fx = await startFixture();
  // Stamp each upstream request with its arrival time (the fixture records no time of its own).
  const push = fx.requests.push;
  fx.requests.push = function stamped(...recs) {
    for (const r of recs) r.at = Date.now();
    return push.apply(this, recs);
  };
  baton = await startBaton(routingConfig());
  client = openaiClient(baton.url);
});
// A crash (signal, abort) shows up on the test that caused it, with baton's stderr.
afterEach(() => baton?.assertAlive());
after(async () => {
  await baton?.stop();
  await fx?.close();
  await garbage?.close();
  await hangup?.close();
});

// ---------------------------------------------------------------------------------------------
// helpers

/** Chat requests the fixture received for provider `tag`, in arrival order. */
const hits = (tag) => fx.requests.filter((r) => r.knobs?.tag === tag && r.endpoint === 'chat/completions');

/** Raw POST /v1/chat/completions; resolves {status, headers, text, json, elapsedMs, attempts, deployment}. */
async function chat(model, extra = {}, { timeoutMs = 15_000 } = {}) {
  const t0 = Date.now();
  const r = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', timeoutMs, body: { model, messages, ...extra } });
  return { ...r, elapsedMs: Date.now() - t0, attempts: r.headers['x-baton-attempts'], deployment: r.headers['x-baton-deployment'] };
}

/** Asserts a 200 non-stream answer with the fixture's content from `provider` after `attempts` attempts. */
function assertServed(r, provider, attempts, what = '') {
  const ctx = `${what} -> ${r.status} deployment=${r.deployment} attempts=${r.attempts} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, 200, ctx);
  assert.equal(r.json?.choices?.[0]?.message?.content, CONTENT, ctx);
  assert.equal(r.deployment, id(provider), ctx);
  if (attempts !== undefined) assert.equal(r.attempts, String(attempts), ctx);
}

/** SDK stream with its response headers; resolves collectStream's result plus attempts/deployment. */
async function sdkStream(model, extra = {}) {
  const t0 = Date.now();
  const { data: stream, response } = await client.chat.completions.create({ model, messages, stream: true, ...extra }).withResponse();
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  return { ...r, totalMs: Date.now() - t0, attempts: response.headers.get('x-baton-attempts'), deployment: response.headers.get('x-baton-deployment') };
}

function assertCleanStream(r, provider, attempts, what = '') {
  const ctx = `${what}: deployment=${r.deployment} attempts=${r.attempts} content=${JSON.stringify(r.content)} error=${r.error?.constructor?.name}: ${r.error?.message}`;
  assert.equal(r.timedOut, false, `stream hung; ${ctx}`);
  assert.equal(r.error, null, ctx);
  assert.equal(r.content, CONTENT, ctx);
  assert.equal(r.chunks.at(-1)?.choices?.[0]?.finish_reason, 'stop', ctx);
  assert.equal(r.deployment, id(provider), ctx);
  assert.equal(r.attempts, String(attempts), ctx);
}

/** /admin/deployments entry of one deployment (null when missing). */
async function adminEntry(provider) {
  const r = await rawRequest(`${baton.url}/admin/deployments`, { timeoutMs: 5000 });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  return r.json.data.find((d) => d.deployment === id(provider)) ?? null;
}

/** Breaker state per /admin/deployments, or undefined when this build does not report it yet. */
async function breakerState(provider) {
  const e = await adminEntry(provider);
  assert.ok(e, `${id(provider)} missing from /admin/deployments`);
  return e.breaker;
}

/** Wait until `provider`'s breaker cooldown is over: via /admin when it reports breakers, else by the clock. */
async function waitCooldownOver(provider, openedAt, cooldownMs) {
  if ((await breakerState(provider)) !== undefined) {
    await waitFor(async () => (await breakerState(provider)) === 'half_open', cooldownMs + 3000, { what: `${id(provider)} breaker half_open`, intervalMs: 20 });
  }
  const left = openedAt + cooldownMs + 30 - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------------------------
// 1. failover

test('failover: a dead first deployment is skipped, the second answers (attempts 2)', { timeout: 30_000 }, async () => {
  for (let i = 0; i < 3; i++) assertServed(await chat('failover'), 'fo_ok', 2, `raw #${i}`);

  const { data, response } = await client.chat.completions.create({ model: 'failover', messages }).withResponse();
  assert.equal(data.choices[0].message.content, CONTENT);
  assert.equal(response.headers.get('x-baton-attempts'), '2');
  assert.equal(response.headers.get('x-baton-deployment'), id('fo_ok'));

  assertCleanStream(await sdkStream('failover'), 'fo_ok', 2, 'stream');
  // the upstream got the deployment's model name, once per client request
  assert.equal(hits('fo_ok').length, 5);
  for (const h of hits('fo_ok')) assert.equal(h.body.model, UPSTREAM_MODEL);
});

// ---------------------------------------------------------------------------------------------
// 2 + 10. 5xx storm and the circuit breaker

test('5xx storm: breaker opens after 3 failures, admits exactly one probe after the cooldown, re-opens', { timeout: 30_000 }, async (t) => {
  const COOLDOWN = 400;
  for (let i = 1; i <= 3; i++) {
    const r = await chat('storm');
    assertServed(r, 'storm_ok', 2, `request ${i} (breaker still closed)`);
    assert.equal(hits('storm500').length, i);
  }
  const openedAt = Date.now();
  const state = await breakerState('storm500');
  t.diagnostic(`/admin/deployments breaker field: ${state === undefined ? 'absent (not asserted)' : state}`);
  if (state !== undefined) {
    assert.equal(state, 'open', '/admin/deployments must show the open breaker right after the 3rd failure');
    assert.equal(await breakerState('storm_ok'), 'closed');
    const entry = await adminEntry('storm500');
    if (Array.isArray(entry.recent_errors)) assert.ok(entry.recent_errors.length >= 3, JSON.stringify(entry));
  }
  // While open: storm500 is skipped, one attempt only.
  for (let i = 0; i < 3; i++) {
    const r = await chat('storm');
    assert.ok(Date.now() - openedAt < COOLDOWN - 50, `too slow to observe the open breaker (${Date.now() - openedAt} ms after it opened)`);
    assertServed(r, 'storm_ok', 1, `while open #${i}`);
  }
  assert.equal(hits('storm500').length, 3, 'an open breaker must keep requests away from the deployment');

  // After the cooldown: concurrent requests, exactly one of them is the probe.
  await waitCooldownOver('storm500', openedAt, COOLDOWN);
  const burst = await Promise.all(Array.from({ length: 6 }, () => chat('storm')));
  for (const r of burst) assertServed(r, 'storm_ok', undefined, 'half-open burst');
  assert.equal(hits('storm500').length, 4, 'half-open must admit exactly one probe');
  assert.deepEqual(burst.map((r) => r.attempts).sort(), ['1', '1', '1', '1', '1', '2'], 'one request (the probe) took 2 attempts');

  // The probe failed: open again for a new cooldown.
  const reopenedAt = Date.now();
  if (state !== undefined) assert.equal(await breakerState('storm500'), 'open');
  const r = await chat('storm');
  assert.ok(Date.now() - reopenedAt < COOLDOWN - 50, 'too slow to observe the re-opened breaker');
  assertServed(r, 'storm_ok', 1, 'after the failed probe');
  assert.equal(hits('storm500').length, 4);
});

test('breaker: a successful half-open probe closes it again', { timeout: 30_000 }, async () => {
  const COOLDOWN = 300;
  assertServed(await chat('probe'), 'probe_ok', 2, 'first failure opens (consecutive_failures 1)');
  const openedAt = Date.now();
  assertServed(await chat('probe'), 'probe_ok', 1, 'open');
  assert.equal(hits('probe500').length, 1);
  await waitCooldownOver('probe500', openedAt, COOLDOWN);

  // The probe succeeds (body knob overrides the provider's status=500).
  const probe = await chat('probe', { fixture: { status: 200 } });
  assertServed(probe, 'probe500', 1, 'successful probe');
  assert.equal(hits('probe500').length, 2);
  const state = await breakerState('probe500');
  if (state !== undefined) assert.equal(state, 'closed');
  // Closed: the next request goes to probe500 again (fails, re-opens, falls over).
  assertServed(await chat('probe'), 'probe_ok', 2, 'closed again');
  assert.equal(hits('probe500').length, 3);
});

test('breaker: failures that never come in a row open it by ratio (failure_ratio 0.5 of min_requests 10)', { timeout: 30_000 }, async () => {
  // success, failure, success, failure ...: the streak rule (5 in a row) never fires.
  for (let i = 0; i < 10; i++) {
    const failing = i % 2 === 1;
    const r = await chat('ratio', failing ? { fixture: { status: 500 } } : {});
    assert.equal(r.deployment, id('ratio_flaky'), `request ${i}`);
    assert.equal(r.status, failing ? 500 : 200, `request ${i}: ${r.text.slice(0, 200)}`);
  }
  // 5 failures of 10 requests: open; the next request goes to the second deployment untried.
  assertServed(await chat('ratio'), 'ratio_ok', 1, 'breaker opened by ratio');
  assert.equal(hits('ratio_flaky').length, 10);
});

test('every deployment held out by its breaker -> 503 no_deployment_available, upstream untouched', { timeout: 30_000 }, async () => {
  const first = await chat('nodep');
  assert.equal(first.status, 500, first.text);
  assert.equal(errorOf(first.json)?.code, 'fixture_status_500');
  assert.equal(hits('nodep500').length, 1);

  const r = await chat('nodep');
  assert.equal(r.status, 503, r.text);
  assert.equal(errorOf(r.json)?.code, 'no_deployment_available', r.text);
  assert.equal(hits('nodep500').length, 1, 'an open breaker must not let the request through');
  await assert.rejects(client.chat.completions.create({ model: 'nodep', messages }), (e) => e instanceof OpenAI.APIError && e.status === 503);
  const state = await breakerState('nodep500');
  if (state !== undefined) assert.equal(state, 'open');
});

// ---------------------------------------------------------------------------------------------
// 3. 429, retry-after, backoff

test('429 with retry-after: 1 -> retried ~1 s later, then the upstream 429 (body + retry-after) is passed through', { timeout: 30_000 }, async (t) => {
  const r = await chat('ratelimited');
  const h = hits('rl429');
  assert.equal(h.length, 2, `fixture saw ${h.length} requests`);
  const gap = h[1].at - h[0].at;
  t.diagnostic(`retry gap ${gap} ms, request took ${r.elapsedMs} ms`);
  assert.ok(gap >= 900, `retry came ${gap} ms after the 429 with retry-after: 1`);
  assert.ok(gap < 1500, `retry came ${gap} ms after the 429 (retry-after 1 s, max_backoff_ms 1500)`);
  assert.equal(r.status, 429, r.text);
  assert.equal(r.text, h[1].response, 'the upstream body is passed through unchanged');
  assert.equal(errorOf(r.json)?.code, 'fixture_status_429');
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.attempts, '2');
  assert.equal(r.deployment, id('rl429'));

  await assert.rejects(client.chat.completions.create({ model: 'ratelimited', messages }), (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError, `${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, 'fixture_status_429');
    return true;
  });
});

test('retry-after longer than max_backoff_ms is capped', { timeout: 30_000 }, async () => {
  const r = await chat('ratecap');
  const h = hits('rlcap');
  assert.equal(h.length, 2);
  const gap = h[1].at - h[0].at;
  assert.ok(gap >= 250 && gap < 900, `retry-after: 5 with max_backoff_ms 300: retried after ${gap} ms`);
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '5');
  assert.equal(r.attempts, '2');
});

test('a retry-after beyond the total deadline is not waited for: the 429 comes back at once', { timeout: 30_000 }, async () => {
  const r = await chat('ratedeadline');
  assert.equal(r.status, 429, r.text);
  assert.equal(hits('rldl').length, 1);
  assert.ok(r.elapsedMs < 500, `took ${r.elapsedMs} ms (retry-after 5 s > total_ms 2000)`);
  assert.equal(r.headers['retry-after'], '5');
  assert.equal(r.attempts, '1');
});

test('429 on one deployment -> another untried deployment answers at once (no backoff)', { timeout: 30_000 }, async () => {
  const r = await chat('ratenext');
  assertServed(r, 'rlnext_ok', 2);
  assert.ok(r.elapsedMs < 500, `took ${r.elapsedMs} ms; an untried deployment needs no wait`);
});

test('exponential backoff between retries of one deployment (base 200 ms: ~100-200, ~200-400)', { timeout: 30_000 }, async (t) => {
  const r = await chat('backoff');
  assert.equal(r.status, 500, r.text);
  assert.equal(errorOf(r.json)?.code, 'fixture_status_500');
  assert.equal(r.attempts, '3');
  const h = hits('bo500');
  assert.equal(h.length, 3);
  const g1 = h[1].at - h[0].at;
  const g2 = h[2].at - h[1].at;
  t.diagnostic(`backoff gaps ${g1} ms, ${g2} ms`);
  const SLACK = 150; // scheduling on a busy machine
  assert.ok(g1 >= 95 && g1 <= 200 + SLACK, `first backoff ${g1} ms, expected 100..200`);
  assert.ok(g2 >= 195 && g2 <= 400 + SLACK, `second backoff ${g2} ms, expected 200..400`);
});

// ---------------------------------------------------------------------------------------------
// 4. not retryable

test('upstream 400 is not retried: passed through at once, no failover', { timeout: 30_000 }, async () => {
  const r = await chat('badreq');
  assert.equal(r.status, 400, r.text);
  assert.equal(hits('br400').length, 1);
  assert.equal(hits('br_ok').length, 0, 'a 4xx must not fail over');
  assert.equal(r.text, hits('br400')[0].response);
  assert.equal(errorOf(r.json)?.code, 'fixture_status_400');
  assert.equal(r.attempts, '1');
  assert.equal(r.deployment, id('br400'));
  assert.ok(r.elapsedMs < 500, `took ${r.elapsedMs} ms`);

  for (const status of [401, 404, 422]) {
    const x = await chat('badreq', { fixture: { status } });
    assert.equal(x.status, status, x.text);
    assert.equal(x.attempts, '1');
  }
  assert.equal(hits('br400').length, 4);
  assert.equal(hits('br_ok').length, 0);
  await assert.rejects(client.chat.completions.create({ model: 'badreq', messages }), OpenAI.BadRequestError);
});

test('upstream 408 is retryable: the next deployment answers', { timeout: 30_000 }, async () => {
  assertServed(await chat('timeout408'), 't408_ok', 2);
  assert.equal(hits('t408').length, 1);
});

// ---------------------------------------------------------------------------------------------
// 5. hang before the first byte

test('upstream hangs before its first byte -> first_token_ms ends the attempt, the next deployment answers', { timeout: 30_000 }, async (t) => {
  const r = await chat('hang');
  t.diagnostic(`answered after ${r.elapsedMs} ms`);
  assertServed(r, 'hang_ok', 2);
  assert.ok(r.elapsedMs < 1500, `took ${r.elapsedMs} ms (first_token_ms 300, upstream delay 3000)`);
  // baton gave up on the slow upstream: its connection closed long before the 3 s delay ended
  const slowReq = hits('hang_slow')[0];
  const ev = await waitFor(() => fx.events.find((e) => e.reqId === slowReq.id), 2500, { what: 'slow upstream connection closed' });
  assert.equal(ev.type, 'closed_early');

  const s = await sdkStream('hang');
  assertCleanStream(s, 'hang_ok', 2, 'stream');
  assert.ok(s.totalMs < 1500, `stream took ${s.totalMs} ms`);
});

// ---------------------------------------------------------------------------------------------
// 6. fallbacks

test('fallbacks: a model whose only deployment is dead is served by its fallback model', { timeout: 30_000 }, async () => {
  const r = await chat('primary');
  assertServed(r, 'fx', 2);
  assert.equal(r.deployment, 'fx/upstream-model-id');
  assertCleanStream(await sdkStream('primary'), 'fx', 2, 'stream');

  // attempts per group: 2 on primary2, 1 on mid (dead too), 1 on gpt-test
  const r2 = await chat('primary2');
  assertServed(r2, 'fx', 4, 'primary2 -> mid -> gpt-test');
});

// ---------------------------------------------------------------------------------------------
// 7. total deadline

test('total deadline: total_ms 600 on a 3 s upstream -> 504 upstream_timeout within 650 ms', { timeout: 30_000 }, async (t) => {
  const r = await chat('deadline');
  t.diagnostic(`504 after ${r.elapsedMs} ms`);
  assert.equal(r.status, 504, r.text);
  assert.equal(errorOf(r.json)?.code, 'upstream_timeout', r.text);
  assert.ok(r.elapsedMs < 650, `took ${r.elapsedMs} ms (total_ms 600)`);
  assert.ok(r.elapsedMs >= 550, `504 after only ${r.elapsedMs} ms (first_token_ms 10000, total_ms 600)`);

  const t0 = Date.now();
  await assert.rejects(client.chat.completions.create({ model: 'deadline', messages, stream: true }), (e) => {
    assert.ok(e instanceof OpenAI.APIError && e.status === 504, `${e?.constructor?.name}: ${e?.message}`);
    return true;
  });
  assert.ok(Date.now() - t0 < 650, `stream 504 took ${Date.now() - t0} ms`);
});

test('total deadline bounds retries too (first_token_ms 250, 5 attempts allowed, total_ms 600)', { timeout: 30_000 }, async (t) => {
  const r = await chat('deadline-retries');
  t.diagnostic(`504 after ${r.elapsedMs} ms, ${hits('dl_slow2').length} attempts`);
  assert.equal(r.status, 504, r.text);
  assert.equal(errorOf(r.json)?.code, 'upstream_timeout');
  assert.ok(r.elapsedMs < 650, `took ${r.elapsedMs} ms (total_ms 600)`);
  const n = hits('dl_slow2').length;
  assert.ok(n >= 2 && n <= 3, `fixture saw ${n} attempts in 600 ms (250 ms each + backoff)`);
  assert.equal(r.attempts, String(n));
});

test('total deadline ends a slow stream with an error event within 650 ms', { timeout: 30_000 }, async (t) => {
  const s = await sdkStream('deadline-stream');
  t.diagnostic(`stream ended after ${s.totalMs} ms with ${s.chunks.length} chunks`);
  assert.equal(s.timedOut, false);
  assert.ok(s.totalMs < 650, `stream lasted ${s.totalMs} ms (total_ms 600; upstream would take 2.5 s)`);
  assert.ok(s.error instanceof OpenAI.APIError, `expected an error event, got ${s.error?.constructor?.name}: ${s.error?.message}`);
  assert.ok(s.content.startsWith('tok0 '), s.content);
});

test('everything fails with connect errors -> 502 upstream_connect_failed, last deployment tried, attempts = max_attempts', { timeout: 30_000 }, async () => {
  const r = await chat('alldead');
  assert.equal(r.status, 502, r.text);
  assert.equal(errorOf(r.json)?.code, 'upstream_connect_failed');
  assert.equal(r.attempts, '3');
  assert.equal(r.deployment, id('all_dead1'), 'priority: the 3rd attempt re-tries the first deployment');
});

test('everything fails, one upstream answered 500, the last attempt could not connect -> the 500 is passed through', { timeout: 30_000 }, async () => {
  const r = await chat('mixed');
  assert.equal(r.attempts, '2');
  assert.equal(hits('mix500').length, 1);
  assert.equal(r.status, 500, `expected the upstream's 500 (the last upstream answer), got ${r.status} ${r.text}`);
  assert.equal(r.text, hits('mix500')[0].response);
});

// ---------------------------------------------------------------------------------------------
// 8. strategies

test('weighted 3:1 -> 75/25 (±5 points) over 400 requests', { timeout: 60_000 }, async (t) => {
  const N = 400;
  const seen = { w3: 0, w1: 0 };
  for (let i = 0; i < N; i++) {
    const r = await chat('weighted');
    assert.equal(r.status, 200, r.text);
    seen[r.deployment === id('w3') ? 'w3' : 'w1']++;
  }
  const a = hits('w3').length;
  const b = hits('w1').length;
  assert.equal(a + b, N);
  assert.deepEqual(seen, { w3: a, w1: b }, 'x-baton-deployment agrees with what the fixture saw');
  const share = a / N;
  t.diagnostic(`w3 ${a}, w1 ${b}`);
  assert.ok(Math.abs(share - 0.75) <= 0.05, `w3 got ${a}/${N} = ${(share * 100).toFixed(1)} %`);
});

test('least-busy: with one slow deployment, concurrent traffic goes mostly to the fast one', { timeout: 60_000 }, async (t) => {
  const LOOPS = 4;
  const PER_LOOP = 15;
  const loop = async () => {
    for (let i = 0; i < PER_LOOP; i++) {
      const r = await chat('least-busy');
      assert.equal(r.status, 200, r.text);
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, loop));
  const slow = hits('lb_slow').length;
  const fast = hits('lb_fast').length;
  t.diagnostic(`fast ${fast}, slow ${slow}`);
  assert.equal(slow + fast, LOOPS * PER_LOOP);
  assert.ok(fast > (slow + fast) / 2, `fast got ${fast}, slow ${slow}`);
  assert.ok(slow >= 1, `least-busy should still spread some load to the idle slow deployment (fast ${fast}, slow ${slow})`);
});

test('least-latency: after sampling both, the fast deployment gets nearly all requests', { timeout: 60_000 }, async (t) => {
  const N = 40;
  for (let i = 0; i < N; i++) assert.equal((await chat('least-latency')).status, 200);
  const slow = hits('ll_slow').length;
  const fast = hits('ll_fast').length;
  t.diagnostic(`fast ${fast}, slow ${slow}`);
  assert.equal(slow + fast, N);
  assert.ok(slow >= 1, 'the slow deployment is sampled at least once');
  assert.ok(fast >= 0.8 * N, `fast got ${fast}/${N}, slow ${slow}`);
});

test('cost: every request goes to the cheaper deployment', { timeout: 30_000 }, async () => {
  for (let i = 0; i < 20; i++) assertServed(await chat('cost'), 'c_cheap', 1, `#${i}`);
  assert.equal(hits('c_pricey').length, 0);
  assert.equal(hits('c_cheap').length, 20);
});

test('context_window: a deployment too small for max_tokens is skipped; none large enough -> 503', { timeout: 30_000 }, async () => {
  assertServed(await chat('ctx', { max_tokens: 5000 }), 'cw_big', 1, 'max_tokens 5000');
  assertServed(await chat('ctx', { max_tokens: 10 }), 'cw_small', 1, 'max_tokens 10');
  assertServed(await chat('ctx'), 'cw_small', 1, 'no max_tokens');
  assert.equal(hits('cw_small').length, 2);

  const r = await chat('ctx-only', { max_tokens: 5000 });
  assert.equal(r.status, 503, r.text);
  assert.equal(errorOf(r.json)?.code, 'no_deployment_available');
  assert.equal(hits('cw_only').length, 0);
});

// ---------------------------------------------------------------------------------------------
// 9. stream failures before the first event are retried invisibly

test('stream: upstream dies before its first event -> the next deployment streams, client sees a clean stream', { timeout: 30_000 }, async () => {
  assertCleanStream(await sdkStream('stream-die'), 'sd_ok', 2, 'die_after=0');
  const died = hits('sd_die')[0];
  assert.ok(died, 'the dying deployment was tried first');
  await waitFor(() => fx.events.some((e) => e.reqId === died.id && e.type === 'died'), 2000, { what: 'fixture recorded the injected death' });

  // raw SSE: exactly the good stream, no error event, one [DONE]
  const raw = await chat('stream-die', { stream: true });
  assert.equal(raw.status, 200, raw.text);
  assert.match(raw.headers['content-type'] ?? '', /^text\/event-stream/);
  assert.equal(raw.attempts, '2');
  const events = sseData(raw.text);
  assert.equal(events.filter((d) => d === '[DONE]').length, 1);
  assert.equal(events.at(-1), '[DONE]');
  const parsed = events.slice(0, -1).map((d) => JSON.parse(d));
  assert.ok(parsed.every((p) => !p.error), raw.text);
  assert.equal(parsed.map((p) => p.choices?.[0]?.delta?.content ?? '').join(''), CONTENT);
});

test('stream: upstream stalls before its first event -> first_token_ms ends it, the next deployment streams', { timeout: 30_000 }, async () => {
  const s = await sdkStream('stream-stall');
  assertCleanStream(s, 'ss_ok', 2, 'stall_after=0');
  assert.ok(s.totalMs < 1500, `took ${s.totalMs} ms (first_token_ms 300)`);
});

test('stream: upstream 500 -> the next deployment streams', { timeout: 30_000 }, async () => {
  assertCleanStream(await sdkStream('stream-500'), 's5_ok', 2, 'status=500');
  assert.equal(hits('s5_500').length, 1);
});

// ---------------------------------------------------------------------------------------------
// malformed answers and lost connections are retryable

test('upstream answers bytes that are not HTTP -> retried on the next deployment; alone -> 502 upstream_protocol_error', { timeout: 30_000 }, async () => {
  const before = garbage.count;
  assertServed(await chat('junk'), 'junk_ok', 2);
  assertCleanStream(await sdkStream('junk'), 'junk_ok', 2, 'stream');
  assert.equal(garbage.count - before, 2);

  const r = await chat('junk-only');
  assert.equal(r.status, 502, r.text);
  assert.equal(errorOf(r.json)?.code, 'upstream_protocol_error', r.text);
  assert.equal(r.deployment, id('junk'));
});

test('upstream closes the connection without answering -> retried on the next deployment; alone -> 502 upstream_connection_lost', { timeout: 30_000 }, async () => {
  const before = hangup.count;
  assertServed(await chat('drop'), 'drop_ok', 2);
  assertCleanStream(await sdkStream('drop'), 'drop_ok', 2, 'stream');
  assert.ok(hangup.count - before >= 2, `the dropping upstream saw ${hangup.count - before} requests`);

  const r = await chat('drop-only');
  assert.equal(r.status, 502, r.text);
  assert.equal(errorOf(r.json)?.code, 'upstream_connection_lost', r.text);
});

test('non-stream 200 whose body is not valid JSON (malformed=1) is a malformed answer -> retried on the next deployment', { timeout: 30_000 }, async () => {
  const r = await chat('badjson');
  assert.equal(hits('badjson').length, 1);
  assertServed(r, 'badjson_ok', 2, 'truncated JSON from the first deployment');
});
