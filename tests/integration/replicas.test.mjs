// Scale-out: four `baton serve` replicas sharing one real PostgreSQL (keys, teams, usage) and one
// real Redis (limits). No load balancer: each test spreads its requests over the replicas itself.
//
//   rpm limits are exact across 2 and 4 replicas; a budget holds across replicas (overshoot bounded
//   by the reservations in flight); a revoked key is refused on every replica within 1 s; a replica
//   killed with SIGKILL loses at most the documented flush window of usage records; with Redis down
//   or stalled, fail_mode open serves uncounted and closed refuses with 503 limits_unavailable (never
//   hanging), and limits come back with Redis; PostgreSQL stalled for 5 s neither slows nor fails
//   requests, and every usage record arrives afterwards.
//
// Needs postgresql and redis-server (scripts/install-deps.sh test). Measured numbers are printed as
// test diagnostics.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { startFixture } from '../fixture/upstream.mjs';
import { startBaton, waitFor } from './lib/baton.mjs';
import { UPSTREAM_KEY } from './lib/config.mjs';
import { errorOf } from './lib/http.mjs';
import { startPostgres, startRedis } from './lib/services.mjs';
import { fdsByKind } from './lib/proc.mjs';

const MASTER_KEY = 'sk-master-replicas-test';
const REPLICAS = 4;
const REDIS_TIMEOUT_MS = 100;
const USAGE_FLUSH_MS = 200; // storage.usage_flush_ms (the default, set explicitly)
const PRICE = { input_per_mtok: 100, output_per_mtok: 100 }; // USD per million tokens
const SINGLE_ATTEMPT = { retry: { max_attempts: 1 }, breaker: { consecutive_failures: 1000, failure_ratio: 0 } };
const messages = [{ role: 'user', content: 'scale out' }];

let fx;
let pg;
let redis;
const reps = []; // the running batons, index = replica number

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function replicaConfig() {
  return {
    server: { listen: '127.0.0.1:0', workers: 2, access_log: 'off' },
    auth: { master_key: MASTER_KEY },
    storage: { url: pg.url, redis: redis.url, redis_timeout_ms: REDIS_TIMEOUT_MS, usage_flush_ms: USAGE_FLUSH_MS },
    providers: { fx: { kind: 'openai', base_url: fx.baseUrl, api_key: UPSTREAM_KEY } },
    models: [
      { name: 'gpt-test', deployments: [{ provider: 'fx', model: 'upstream-model-id' }], ...SINGLE_ATTEMPT },
      { name: 'priced', deployments: [{ provider: 'fx', model: 'upstream-model-id', price: PRICE }], ...SINGLE_ATTEMPT },
    ],
  };
}

const diag = () => reps.map((b, i) => `\n--- replica ${i} stderr (tail) ---\n${b.stderr().slice(-1500)}`).join('');

/**
 * One HTTP request; never rejects. Resolves {status, headers, json, text, ms, error}; status 0 when
 * the connection failed or `timeoutMs` passed (error says which).
 */
function send(base, { method = 'POST', path = '/v1/chat/completions', key, body, timeoutMs = 10_000, useAgent = agent } = {}) {
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (payload) { headers['content-type'] = 'application/json'; headers['content-length'] = payload.length; }
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (v) => { if (!settled) { settled = true; clearTimeout(timer); resolve({ ms: performance.now() - t0, ...v }); } };
    const req = http.request(`${base}${path}`, { method, headers, agent: useAgent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('error', (e) => done({ status: 0, error: e.message }));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        done({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    const timer = setTimeout(() => { req.destroy(); done({ status: 0, error: `timed out after ${timeoutMs} ms` }); }, timeoutMs);
    req.on('error', (e) => done({ status: 0, error: e.message }));
    if (payload) req.write(payload);
    req.end();
  });
}

const chat = (i, key, extra = {}) => send(reps[i].url, { key, body: { model: 'gpt-test', messages, ...extra } });
const adminCall = (i, method, path, body) => send(reps[i].url, { method, path, key: MASTER_KEY, body });

/** Creates a key on replica 0 and waits until every replica accepts it. Returns {id, secret}. */
async function createKey(fields) {
  const r = await adminCall(0, 'POST', '/admin/keys', fields);
  assert.equal(r.status, 201, `POST /admin/keys ${JSON.stringify(fields)}: ${r.status} ${r.text}${diag()}`);
  assert.match(r.json?.key ?? '', /^sk-baton-/, r.text);
  const key = { id: r.json.id, secret: r.json.key };
  await Promise.all(reps.map((b, i) => waitFor(async () => {
    const m = await send(b.url, { method: 'GET', path: '/v1/models', key: key.secret });
    return m.status === 200;
  }, 5000, { what: `replica ${i} accepts the new key ${key.id}`, intervalMs: 25 })));
  return key;
}

/** The key's usage totals from GET /admin/usage (group_by key), or zeros when it has none. */
async function usageOf(keyId, replica = 0) {
  const r = await adminCall(replica, 'GET', `/admin/usage?group_by=key&key=${encodeURIComponent(keyId)}`);
  assert.equal(r.status, 200, `GET /admin/usage: ${r.status} ${r.text}`);
  const row = r.json.data.find((d) => d.key === keyId);
  return row ?? { requests: 0, errors: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0 };
}

/** Polls /admin/usage until the key shows `requests` records (usage is flushed every 200 ms). */
async function usageReaching(keyId, requests, deadlineMs = 15_000) {
  let last;
  try {
    return await waitFor(async () => {
      last = await usageOf(keyId);
      return last.requests === requests && last;
    }, deadlineMs, { what: `usage of ${keyId} reaching ${requests} records`, intervalMs: 100 });
  } catch (e) {
    throw new Error(`${e.message}; last seen: ${JSON.stringify(last)}`);
  }
}

async function metricValue(i, name) {
  const r = await send(reps[i].url, { method: 'GET', path: '/metrics' });
  assert.equal(r.status, 200, `/metrics on replica ${i}: ${r.status}`);
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : undefined;
}

/** A metric summed over every replica. */
async function metricSum(name) {
  const values = await Promise.all(reps.map((_, i) => metricValue(i, name)));
  assert.ok(values.every((v) => typeof v === 'number'), `${name} missing on some replica: ${values}`);
  return values.reduce((a, b) => a + b, 0);
}

/** Waits until no replica holds usage records it has not written yet. */
async function usageDrained(deadlineMs = 15_000) {
  await Promise.all(reps.map((_, i) => waitFor(async () => (await metricValue(i, 'baton_usage_records_pending')) === 0,
    deadlineMs, { what: `replica ${i}: baton_usage_records_pending == 0`, intervalMs: 50 })));
}

function percentile(values, p) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Open-loop load: one request every 1000/rps ms (not waiting for answers) until stop() is called.
 * `fire(n)` sends request n and resolves its result; every result is kept with its send time.
 */
function steadyLoad(rps, fire) {
  const results = [];
  const inflight = new Set();
  let stopped = false;
  const t0 = performance.now();
  const period = 1000 / rps;
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const due = t0 + n * period;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopped) break;
      const sentAt = performance.now();
      const p = fire(n).then((r) => { results.push({ ...r, sentAt, doneAt: sentAt + r.ms }); inflight.delete(p); });
      inflight.add(p);
    }
  })();
  return {
    results,
    /** Stops sending and waits for every request already sent. */
    async stop() { // idempotent
      stopped = true;
      await loop;
      await Promise.all([...inflight]);
      return results;
    },
  };
}

const statusCounts = (rs) => rs.reduce((acc, r) => { acc[r.status] = (acc[r.status] ?? 0) + 1; return acc; }, {});
/** '200, 429 rpm, 503 limits_unavailable, …' for assertion messages. */
const summary = (rs) => rs.map((r) => `${r.status}${r.headers?.['x-baton-limit'] ? ` ${r.headers['x-baton-limit']}` : ''}`
  + `${r.status >= 400 && errorOf(r.json)?.code ? ` ${errorOf(r.json).code}` : ''}${r.error ? ` (${r.error})` : ''}`).join(', ');

before(async () => {
  [fx, pg, redis] = await Promise.all([startFixture(), startPostgres(), startRedis()]);
  // All replicas start at once against an empty database: migrations must serialise themselves.
  const started = await Promise.allSettled(Array.from({ length: REPLICAS }, () => startBaton(replicaConfig())));
  for (const s of started) if (s.status === 'fulfilled') reps.push(s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
});

afterEach(async () => {
  // A test that failed half-way must not leave the next one without its services.
  await pg?.resume();
  redis?.resume();
  if (redis && !redis.running) await redis.start();
  for (const [i, b] of reps.entries()) {
    if (b.proc.exitCode !== null || b.proc.signalCode !== null) {
      if (b.killedOnPurpose) {
        await b.stop();
        reps[i] = await startBaton(replicaConfig());
      }
    }
  }
  for (const b of reps) await b.assertAlive();
});

after(async () => {
  agent.destroy();
  await Promise.all(reps.map((b) => b.stop()));
  await redis?.stop({ final: true });
  await pg?.stop();
  await fx?.close();
});

test('PostgreSQL storage: every replica loaded libpq at run time (baton does not link it)', { timeout: 20_000 }, async () => {
  for (const b of reps) {
    assert.match(readFileSync(`/proc/${b.proc.pid}/maps`, 'utf8'), /libpq\.so\.5/, `replica ${b.proc.pid} has no libpq mapped`);
  }
});

for (const n of [2, 4]) {
  test(`rpm 60 over ${n} replicas: 150 concurrent requests -> exactly 60 admitted, the rest 429 rpm`, { timeout: 60_000 }, async (t) => {
    const key = await createKey({ name: `rpm-${n}`, rpm: 60 });
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) =>
      chat(i % n, key.secret).then((r) => ({ ...r, replica: i % n }))));
    const elapsed = performance.now() - t0;
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    const perReplica = Array.from({ length: n }, (_, i) => ok.filter((r) => r.replica === i).length);
    t.diagnostic(`${n} replicas: ${ok.length} x 200, ${limited.length} x 429 in ${elapsed.toFixed(0)} ms; admitted per replica ${perReplica.join('/')}`);
    assert.deepEqual(Object.keys(statusCounts(results)).filter((s) => s !== '200' && s !== '429'), [],
      `only 200 and 429 expected: ${JSON.stringify(statusCounts(results))}; e.g. ${results.find((r) => r.status !== 200 && r.status !== 429)?.text}${diag()}`);
    assert.ok(Math.abs(ok.length - 60) <= 1, `rpm 60 across ${n} replicas admitted ${ok.length} of 150`);
    assert.ok(elapsed < 10_000, `150 requests took ${elapsed} ms`);
    for (const r of limited) {
      assert.match(r.headers['retry-after'] ?? '', /^[1-9][0-9]*$/, `429 without a valid retry-after: ${JSON.stringify(r.headers)}`);
      assert.equal(r.headers['x-baton-limit'], 'rpm', JSON.stringify(r.headers));
      assert.equal(errorOf(r.json)?.code, 'rate_limited', r.text);
    }
    // Every request, admitted or refused, leaves one usage record; the refused ones count as errors.
    const usage = await usageReaching(key.id, 150);
    assert.equal(usage.errors, limited.length, JSON.stringify(usage));
  });
}

test('budget across 4 replicas: spend stays within the budget plus the reservations in flight; then 429 budget_exceeded', { timeout: 60_000 }, async (t) => {
  const body = { model: 'priced', messages: [{ role: 'user', content: 'spend it' }], max_tokens: 3 };
  const bodyBytes = Buffer.byteLength(JSON.stringify(body));
  const estimateUsd = (Math.floor(bodyBytes / 4) * PRICE.input_per_mtok + body.max_tokens * PRICE.output_per_mtok) / 1e6;
  const budget = Number((25 * estimateUsd).toFixed(6));
  const key = await createKey({ name: 'budget', budget: { amount: budget, currency: 'USD', period: 'daily' } });

  // Closed loop: CONCURRENCY clients, round-robin over the replicas, until enough refusals were seen.
  const CONCURRENCY = 8;
  const results = [];
  let refusedBudget = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (refusedBudget < 20 && results.length < 1500) {
      const replica = next++ % REPLICAS;
      const r = await send(reps[replica].url, { key: key.secret, body });
      results.push(r);
      if (r.status === 429 && errorOf(r.json)?.code === 'budget_exceeded') refusedBudget++;
    }
  }));
  const elapsed = performance.now() - t0;
  const counts = statusCounts(results);
  const ok = results.filter((r) => r.status === 200).length;
  assert.deepEqual(Object.keys(counts).filter((s) => s !== '200' && s !== '429'), [],
    `only 200 and 429 expected: ${JSON.stringify(counts)}; e.g. ${results.find((r) => r.status !== 200 && r.status !== 429)?.text}${diag()}`);
  assert.ok(refusedBudget > 0, `no 429 budget_exceeded in ${results.length} requests (${JSON.stringify(counts)})`);
  for (const r of results.filter((x) => x.status === 429)) {
    assert.equal(errorOf(r.json)?.code, 'budget_exceeded', r.text);
    assert.equal(r.headers['x-baton-limit'], 'budget', JSON.stringify(r.headers));
    assert.match(r.headers['retry-after'] ?? '', /^[1-9][0-9]*$/);
  }

  const usage = await usageReaching(key.id, results.length);
  assert.equal(usage.requests - usage.errors, ok, `usage records of 2xx answers: ${JSON.stringify(usage)}`);
  const inflightBound = CONCURRENCY * estimateUsd;
  const overshoot = usage.cost_usd - budget;
  t.diagnostic(`budget ${budget.toFixed(6)} USD, estimate/request ${estimateUsd.toFixed(6)} USD; ${ok} x 200, `
    + `${results.length - ok} x 429 in ${elapsed.toFixed(0)} ms; spent ${usage.cost_usd.toFixed(6)} USD `
    + `(overshoot ${overshoot.toFixed(6)} USD, allowed ${inflightBound.toFixed(6)} = ${CONCURRENCY} reservations in flight)`);
  assert.ok(usage.cost_usd > 0, `priced requests cost nothing: ${JSON.stringify(usage)}`);
  // What the 2xx answers cost by their own usage, at the deployment's price: the records agree.
  const answered = results.filter((r) => r.status === 200)
    .reduce((sum, r) => sum + (r.json.usage.prompt_tokens * PRICE.input_per_mtok + r.json.usage.completion_tokens * PRICE.output_per_mtok) / 1e6, 0);
  assert.ok(Math.abs(usage.cost_usd - answered) < 1e-9, `usage records cost ${usage.cost_usd} USD, the 2xx answers' usage ${answered} USD`);
  assert.ok(usage.cost_usd <= budget + inflightBound + 1e-9,
    `spent ${usage.cost_usd} USD of a ${budget} USD budget: over by ${overshoot}, more than ${CONCURRENCY} in-flight reservations (${inflightBound})`);
  // Refusals come only once the budget is (nearly) used: spent + reserved + estimate > budget. Each
  // client holds at most one reservation, plus one whose settle (sent in the background) may not
  // have reached Redis yet: a leaked reservation would stop spending far below the budget.
  assert.ok(usage.cost_usd >= budget - 2 * inflightBound - 1e-9,
    `refused with only ${usage.cost_usd} USD of ${budget} USD spent (reservations leaked?)`);
});

test('revocation: DELETE /admin/keys/{id} on replica 0 -> 401 on every replica within 1 s', { timeout: 30_000 }, async (t) => {
  const key = await createKey({ name: 'revoke-me' });
  for (let i = 0; i < REPLICAS; i++) {
    const r = await chat(i, key.secret);
    assert.equal(r.status, 200, `replica ${i} before revocation: ${r.text}`);
  }
  // Every replica polls with the key (cheap authenticated GET) until it is refused.
  let stopPolling = false;
  const t0 = performance.now();
  const pollers = reps.map(async (b) => {
    for (;;) {
      const sentAt = performance.now();
      const r = await send(b.url, { method: 'GET', path: '/v1/models', key: key.secret });
      if (r.status === 401) return { refusedAfter: sentAt + r.ms - t0, firstRefusedSentAt: sentAt - t0 };
      if (r.status !== 200) return { unexpected: r.status, text: r.text };
      if (stopPolling) return { refusedAfter: Infinity };
      await sleep(5);
    }
  });
  const del = await adminCall(0, 'DELETE', `/admin/keys/${key.id}`);
  const deleteMs = performance.now() - t0;
  assert.equal(del.status, 200, `DELETE: ${del.status} ${del.text}`);
  assert.equal(del.json?.revoked, true, del.text);
  const timer = setTimeout(() => { stopPolling = true; }, 5000);
  const seen = await Promise.all(pollers);
  clearTimeout(timer);
  t.diagnostic(`DELETE answered after ${deleteMs.toFixed(0)} ms; refused (ms after DELETE was sent) per replica: `
    + seen.map((s, i) => `#${i} ${s.refusedAfter?.toFixed(0)}`).join(', '));
  seen.forEach((s, i) => {
    assert.equal(s.unexpected, undefined, `replica ${i} answered ${s.unexpected}: ${s.text}`);
    assert.ok(s.refusedAfter <= 1000, `replica ${i} still accepted the revoked key ${s.refusedAfter} ms after the DELETE`);
  });
  // And the key is refused for real work too, with the OpenAI-shaped 401.
  for (let i = 0; i < REPLICAS; i++) {
    const r = await chat(i, key.secret);
    assert.equal(r.status, 401, `replica ${i}: ${r.text}`);
    assert.equal(errorOf(r.json)?.code, 'invalid_api_key', r.text);
  }
});

test('kill -9 a replica under load: usage records lost are within the flush window; baton_usage_records_pending is exported', { timeout: 60_000 }, async (t) => {
  const key = await createKey({ name: 'kill-9' });
  const VICTIM = 1;
  const RPS = 200;
  const victim = reps[VICTIM];
  const url = victim.url;
  // Fresh connections: nothing waits on a keep-alive socket of the dying process.
  const load = steadyLoad(RPS, () => send(url, { key: key.secret, body: { model: 'gpt-test', messages }, useAgent: false, timeoutMs: 5000 }));
  let killedAt;
  try {
    await sleep(1500);
    killedAt = performance.now();
    victim.killedOnPurpose = true;
    victim.proc.kill('SIGKILL');
    await victim.exited;
    await sleep(200); // requests sent after the kill fail: they must not count
  } finally {
    await load.stop();
  }
  const { results } = load;

  const ok = results.filter((r) => r.status >= 200 && r.status < 300);
  const okIds = new Set(ok.map((r) => r.headers['x-request-id']));
  assert.equal(okIds.size, ok.length, 'every 2xx answer carries its own x-request-id');
  assert.ok(!okIds.has(undefined), 'a 2xx answer without x-request-id');
  const others = results.filter((r) => !(r.status >= 200 && r.status < 300));
  assert.ok(others.every((r) => r.status === 0), `only connection failures expected besides 2xx: ${JSON.stringify(statusCounts(results))}`);
  // The rate that fills the flush window: 2xx answers in the last second before the kill.
  const rate = ok.filter((r) => r.doneAt > killedAt - 1000 && r.doneAt <= killedAt).length;
  const window = Math.ceil((rate * USAGE_FLUSH_MS) / 1000);
  const bound = 2 * window + 2; // records queued within usage_flush_ms of the kill + one batch being written

  // Bring the replica back on the same shared store; it serves the same key at once.
  await victim.stop().catch(() => {});
  reps[VICTIM] = await startBaton(replicaConfig());
  const afterRestart = await chat(VICTIM, key.secret);
  assert.equal(afterRestart.status, 200, `restarted replica: ${afterRestart.text}`);
  okIds.add(afterRestart.headers['x-request-id']);

  await usageDrained();
  const usage = await usageOf(key.id);
  const stored = await pg.query(`SELECT request_id FROM usage WHERE key_id = '${key.id}'`);
  const storedIds = new Set(stored.map((row) => row[0]));
  const missing = [...okIds].filter((id) => !storedIds.has(id));
  const phantom = [...storedIds].filter((id) => !okIds.has(id));
  t.diagnostic(`kill -9 at ${RPS} rps: ${ok.length} x 2xx before the kill (+1 after restart), ${others.length} failed; `
    + `usage records ${usage.requests} (SQL rows ${storedIds.size}); missing ${missing.length}, bound ${bound} `
    + `(rate ${rate}/s x ${USAGE_FLUSH_MS} ms = ${window}, + one batch); phantom ${phantom.length}`);
  assert.equal(usage.requests, storedIds.size, '/admin/usage counts the stored records');
  assert.ok(ok.length > RPS / 2, `too little load reached the victim: ${ok.length} x 2xx`);
  assert.ok(usage.requests >= okIds.size - bound,
    `${missing.length} usage records of 2xx answers lost, more than the flush-window bound ${bound}`);
  assert.deepEqual(phantom, [], 'usage records of requests that never got a 2xx');

  for (let i = 0; i < REPLICAS; i++) {
    const pending = await metricValue(i, 'baton_usage_records_pending');
    assert.equal(typeof pending, 'number', `replica ${i}: no baton_usage_records_pending on /metrics`);
  }
});

test('Redis stopped: fail_mode open serves uncounted, closed answers 503 limits_unavailable; limits return with Redis', { timeout: 60_000 }, async (t) => {
  const open = await createKey({ name: 'redis-down-open', rpm: 5, fail_mode: 'open' });
  const closed = await createKey({ name: 'redis-down-closed', rpm: 10_000, fail_mode: 'closed' });
  const admitted = async (key, count) => {
    const rs = [];
    for (let i = 0; i < count; i++) rs.push(await chat(i % REPLICAS, key.secret));
    return rs;
  };

  // Redis up: the limit holds.
  const baseline = await admitted(open, 7);
  assert.deepEqual(baseline.map((r) => r.status), [200, 200, 200, 200, 200, 429, 429], `rpm 5 with Redis up: ${summary(baseline)}`);
  const normal = Math.max(...(await admitted(closed, 8)).map((r) => { assert.equal(r.status, 200, r.text); return r.ms; }));

  const openBefore = await metricSum('baton_limiter_fail_open_total');
  const closedBefore = await metricSum('baton_limiter_fail_closed_total');
  const nonUpstreamFds = () => reps.map((b) => fdsByKind(b.proc.pid, [fx.port]).other);
  const fdsBefore = nonUpstreamFds();
  await redis.stop();
  // Down: connections are refused at once, so answers come fast.
  const limit = REDIS_TIMEOUT_MS + 2 * normal + 150;
  const down = await admitted(open, 12);
  const downClosed = await admitted(closed, 8);
  assert.equal(await metricSum('baton_limiter_fail_open_total') - openBefore, 12, 'baton_limiter_fail_open_total counts each uncounted admission');
  assert.equal(await metricSum('baton_limiter_fail_closed_total') - closedBefore, 8, 'baton_limiter_fail_closed_total counts each 503');
  t.diagnostic(`Redis down: open ${JSON.stringify(statusCounts(down))} max ${Math.max(...down.map((r) => r.ms)).toFixed(0)} ms; `
    + `closed ${JSON.stringify(statusCounts(downClosed))} max ${Math.max(...downClosed.map((r) => r.ms)).toFixed(0)} ms; normal max ${normal.toFixed(0)} ms`);
  for (const r of down) {
    assert.equal(r.status, 200, `fail_mode open with Redis down: ${r.status} ${r.text}${diag()}`);
    assert.ok(r.ms <= limit, `answer took ${r.ms} ms with Redis down (limit ${limit})`);
  }
  for (const r of downClosed) {
    assert.equal(r.status, 503, `fail_mode closed with Redis down: ${r.status} ${r.text}`);
    assert.equal(errorOf(r.json)?.code, 'limits_unavailable', r.text);
    assert.ok(r.ms <= limit, `answer took ${r.ms} ms with Redis down (limit ${limit})`);
  }

  // Back on the same port (empty: no persistence). Every replica reconnects; then the limit counts again.
  const restartedAt = performance.now();
  await redis.start();
  const reconnect = await Promise.all(reps.map((b, i) => waitFor(async () => {
    const r = await chat(i, closed.secret);
    return r.status === 200 && performance.now() - restartedAt;
  }, 15_000, { what: `replica ${i} limits available again after Redis restarted`, intervalMs: 50 })));
  t.diagnostic(`replicas admitting fail_mode closed again after Redis restart (ms): ${reconnect.map((x) => x.toFixed(0)).join(', ')}`);
  const again = await admitted(open, 8);
  assert.deepEqual(again.map((r) => r.status), [200, 200, 200, 200, 200, 429, 429, 429],
    `rpm 5 after Redis returned (empty): ${summary(again)}`);
  for (const r of again.slice(5)) assert.equal(r.headers['x-baton-limit'], 'rpm');
  // The outage left nothing behind: failed reconnects closed their sockets (pooled upstream
  // connections to the fixture are not counted).
  await waitFor(() => nonUpstreamFds().every((n, i) => n <= fdsBefore[i]), 5000, {
    what: `replica fds back to ${JSON.stringify(fdsBefore)} after the Redis outage (now ${JSON.stringify(nonUpstreamFds())})`,
  });
});

test('Redis paused (SIGSTOP): requests never hang — open serves, closed 503 within redis_timeout_ms; limits return on resume', { timeout: 60_000 }, async (t) => {
  const open = await createKey({ name: 'redis-stall-open', rpm: 5, fail_mode: 'open' });
  const closed = await createKey({ name: 'redis-stall-closed', rpm: 10_000, fail_mode: 'closed' });
  const sequential = async (key, count) => {
    const rs = [];
    for (let i = 0; i < count; i++) rs.push(await chat(i % REPLICAS, key.secret));
    return rs;
  };
  const filled = await sequential(open, 6);
  assert.deepEqual(filled.map((r) => r.status), [200, 200, 200, 200, 200, 429], `rpm 5 with Redis up: ${summary(filled)}`);
  const normal = Math.max(...(await sequential(closed, 8)).map((r) => { assert.equal(r.status, 200, r.text); return r.ms; }));
  const limit = REDIS_TIMEOUT_MS + 2 * normal + 150;
  const openBefore = await metricSum('baton_limiter_fail_open_total');
  const closedBefore = await metricSum('baton_limiter_fail_closed_total');

  redis.pause();
  let stalledOpen;
  let stalledClosed;
  let concurrent;
  try {
    stalledOpen = await sequential(open, 8);
    stalledClosed = await sequential(closed, 8);
    // Many at once, too: each must still be bounded by the timeout, not queue behind the others.
    concurrent = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % REPLICAS, (i % 2 ? open : closed).secret).then((r) => ({ ...r, open: i % 2 === 1 }))));
    assert.equal(await metricSum('baton_limiter_fail_open_total') - openBefore, 8 + 20, 'baton_limiter_fail_open_total');
    assert.equal(await metricSum('baton_limiter_fail_closed_total') - closedBefore, 8 + 20, 'baton_limiter_fail_closed_total');
  } finally {
    redis.resume();
  }
  const maxMs = (rs) => Math.max(...rs.map((r) => r.ms)).toFixed(0);
  t.diagnostic(`Redis paused: open ${JSON.stringify(statusCounts(stalledOpen))} max ${maxMs(stalledOpen)} ms; closed `
    + `${JSON.stringify(statusCounts(stalledClosed))} max ${maxMs(stalledClosed)} ms; 40 concurrent max ${maxMs(concurrent)} ms; `
    + `limit ${limit.toFixed(0)} ms (redis_timeout_ms ${REDIS_TIMEOUT_MS}, normal max ${normal.toFixed(0)} ms)`);
  for (const r of [...stalledOpen, ...concurrent.filter((x) => x.open)]) {
    assert.equal(r.status, 200, `fail_mode open with Redis stalled: ${r.status} ${r.text}${diag()}`);
    assert.ok(r.ms <= limit, `answer took ${r.ms.toFixed(0)} ms with Redis stalled (limit ${limit.toFixed(0)})`);
  }
  for (const r of [...stalledClosed, ...concurrent.filter((x) => !x.open)]) {
    assert.equal(r.status, 503, `fail_mode closed with Redis stalled: ${r.status} ${r.text}`);
    assert.equal(errorOf(r.json)?.code, 'limits_unavailable', r.text);
    assert.ok(r.ms <= limit, `answer took ${r.ms.toFixed(0)} ms with Redis stalled (limit ${limit.toFixed(0)})`);
  }

  // Resumed: Redis kept its data, so the open key's window is still full on every replica.
  const resumedAt = performance.now();
  const back = await Promise.all(reps.map((b, i) => waitFor(async () => {
    const c = await chat(i, closed.secret);
    const o = await chat(i, open.secret);
    return c.status === 200 && o.status === 429 && o.headers['x-baton-limit'] === 'rpm' && performance.now() - resumedAt;
  }, 10_000, { what: `replica ${i}: limits enforced again after Redis resumed`, intervalMs: 50 })));
  t.diagnostic(`limits enforced again after resume (ms): ${back.map((x) => x.toFixed(0)).join(', ')}`);
});

test('PostgreSQL paused 5 s under steady load: no failures, p99 not materially worse, every usage record arrives', { timeout: 60_000 }, async (t) => {
  const key = await createKey({ name: 'pg-stall', rpm: 1_000_000 });
  const REPLICA = 2;
  const RPS = 100;
  const phase = { name: 'warmup' }; // connections opening: not part of the baseline
  const load = steadyLoad(RPS, () => {
    const tag = phase.name;
    return chat(REPLICA, key.secret).then((r) => ({ ...r, phase: tag }));
  });
  try {
    await sleep(500);
    phase.name = 'before';
    await sleep(3000);
    await pg.pause();
    phase.name = 'pause';
    await sleep(5000);
    phase.name = 'after';
    await pg.resume();
    await sleep(1000);
  } finally {
    await pg.resume();
    await load.stop();
  }
  const { results } = load;

  const of = (name) => results.filter((r) => r.phase === name);
  const p99 = (name) => percentile(of(name).map((r) => r.ms), 99);
  const p50 = (name) => percentile(of(name).map((r) => r.ms), 50);
  const before = p99('before');
  const during = p99('pause');
  t.diagnostic(`PG pause at ${RPS} rps on replica ${REPLICA}: before n=${of('before').length} p50 ${p50('before').toFixed(1)} p99 ${before.toFixed(1)} ms; `
    + `paused n=${of('pause').length} p50 ${p50('pause').toFixed(1)} p99 ${during.toFixed(1)} ms; `
    + `after n=${of('after').length} p99 ${p99('after').toFixed(1)} ms; statuses ${JSON.stringify(statusCounts(results))}`);
  const failed = results.filter((r) => r.status !== 200);
  assert.equal(failed.length, 0, `requests failed: ${JSON.stringify(statusCounts(results))}; e.g. ${failed[0]?.status} ${failed[0]?.text ?? failed[0]?.error}${diag()}`);
  assert.ok(of('pause').length >= RPS * 4, `only ${of('pause').length} requests during the pause`);
  assert.ok(during < Math.max(3 * before, before + 20),
    `p99 during the database pause ${during.toFixed(1)} ms vs ${before.toFixed(1)} ms before`);

  // Everything queued while the database was stalled is written once it answers again.
  const usage = await usageReaching(key.id, results.length, 20_000);
  assert.equal(usage.errors, 0, JSON.stringify(usage));
});
