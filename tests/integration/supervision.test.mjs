// Supervision of a managed local model (`kind: llama-server`): kill -9 the llama-server baton spawned
// while 4 clients keep sending requests, and check that baton notices (readiness 503), restarts it
// (new pid, readiness 200 again), that no client request hangs, that every failure is a clean error,
// and that requests succeed again. Then SIGTERM baton: it exits 0 and takes its llama-servers along.
//
// Other tests may run their own llama-server at the same time, so this test gives its model a path
// of its own (a symlink in a fresh temp dir): a process whose command line names that path is ours.
// Pids come from THIS baton's stderr ("started llama-server pid N on 127.0.0.1:PORT").
//
// Needs the pinned llama-server and var/models/tiny.gguf (`make test` builds both). When either is
// missing the tests FAIL with a message saying how to build it; nothing is skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { REPO_ROOT, startBaton, waitFor } from './lib/baton.mjs';
import { collectStream, openaiClient, rawRequest } from './lib/http.mjs';

const EXPECTED = 'Hello from the tiny local model.';
const MESSAGES = [{ role: 'user', content: '안녕하세요, 오늘 날씨 어때요?' }];
const CLIENTS = 4;
const CLIENT_TIMEOUT_MS = 5_000; // per request (SDK timeout, and the stream deadline)
const HANG_MS = CLIENT_TIMEOUT_MS + 2_000; // a request still unsettled after this counts as hung
// Worst case for the file: 10 s start + 30 s test + 15 s shutdown test. The load loop also ends by
// itself after LOAD_MAX_MS, so a failed or timed-out test never leaves clients spinning.
const LOAD_MAX_MS = 25_000;
let stopLoad = false;

// ---- prerequisites (kept in this file: the shared harness is not ours to change) ----------------

function pinnedLlamaVersion() {
  try {
    const script = fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'llama', 'build.sh'), 'utf8');
    const m = /^NODE_LLAMA_CPP_VERSION="([^"]+)"/m.exec(script);
    if (m) return m[1];
  } catch { /* fall back to the version this test was written against */ }
  return '3.22.1';
}

const LLAMA_SERVER = process.env.BATON_LLAMA_SERVER
  || path.join(process.env.LLAMA_CACHE_DIR || path.join(REPO_ROOT, '.cache', 'llama'), pinnedLlamaVersion(), 'bin', 'llama-server');
const TINY_MODEL = path.join(REPO_ROOT, 'var', 'models', 'tiny.gguf');

function checkPrerequisites() {
  const problems = [];
  try {
    fs.accessSync(LLAMA_SERVER, fs.constants.X_OK);
  } catch {
    problems.push(`llama-server binary missing or not executable: ${LLAMA_SERVER} (build it with scripts/llama/build.sh or \`make test\`)`);
  }
  let size = 0;
  try { size = fs.statSync(TINY_MODEL).size; } catch { /* missing */ }
  if (!size) problems.push(`tiny model missing or empty: ${TINY_MODEL} (create it with scripts/llama/make-model.sh or \`make test\`)`);
  if (problems.length) throw new Error(`local model prerequisites missing:\n  - ${problems.join('\n  - ')}`);
}

// ---- process helpers -------------------------------------------------------------------------------

/** Every llama-server this baton reported starting, in order: [{pid, port}]. */
function startedServers(b) {
  return [...b.stderr().matchAll(/started llama-server pid (\d+) on 127\.0\.0\.1:(\d+)/g)]
    .map((m) => ({ pid: Number(m[1]), port: Number(m[2]) }));
}

/** Is `pid` a live (not zombie) process? */
function running(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Live processes whose argv is `... --model <modelPath> ...` (i.e. this test's llama-servers). */
function processesUsingModel(modelPath) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv;
    try { argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    const i = argv.indexOf('--model');
    if (i >= 0 && argv[i + 1] === modelPath && running(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

// ---- load ------------------------------------------------------------------------------------------

/** One request (streamed or not) with a hard upper bound; resolves to a result record, never rejects. */
async function oneRequest(sdk, stream) {
  const t0 = Date.now();
  const work = (async () => {
    if (!stream) {
      const r = await sdk.chat.completions.create({ model: 'local', messages: MESSAGES, temperature: 0 });
      return { content: r.choices[0]?.message?.content, finish: r.choices[0]?.finish_reason };
    }
    const s = await sdk.chat.completions.create({ model: 'local', messages: MESSAGES, temperature: 0, stream: true });
    const c = await collectStream(s, { deadlineMs: CLIENT_TIMEOUT_MS });
    if (c.error) throw c.error;
    if (c.timedOut) throw Object.assign(new Error(`stream did not finish within ${CLIENT_TIMEOUT_MS} ms`), { streamTimeout: true });
    return { content: c.content, finish: c.chunks.map((ch) => ch.choices?.[0]?.finish_reason).filter(Boolean).at(-1) };
  })();
  let timer;
  const hang = new Promise((resolve) => { timer = setTimeout(() => resolve('hung'), HANG_MS); });
  const rec = { stream, t0 };
  try {
    const r = await Promise.race([work, hang]);
    if (r === 'hung') rec.kind = 'hung';
    else Object.assign(rec, { kind: 'ok', ...r });
  } catch (e) {
    rec.error = e;
    rec.kind = classify(e);
  } finally {
    clearTimeout(timer);
  }
  rec.t1 = Date.now();
  return rec;
}

/**
 * 'clean'      an OpenAI-shaped JSON error from baton: 502/503 with error.code, or an error event in
 *              an already started stream (SDK APIError without status) with error.code;
 * 'connection' the SDK saw the connection fail (allowed, but reported);
 * 'timeout'    the request ran into its client timeout (counts as a hang);
 * 'bad'        anything else.
 */
function classify(e) {
  if (e instanceof OpenAI.APIConnectionTimeoutError || e?.streamTimeout) return 'timeout';
  if (e instanceof OpenAI.APIConnectionError) return 'connection';
  if (e instanceof OpenAI.APIError) {
    const code = e.error?.code ?? e.code;
    const statusOk = e.status === 502 || e.status === 503 || e.status === undefined;
    return statusOk && typeof code === 'string' && code.length > 0 ? 'clean' : 'bad';
  }
  return 'bad';
}

function describe(rec) {
  const e = rec.error;
  const what = e ? `${e.constructor?.name}: status=${e.status} code=${e.error?.code ?? e.code} ${e.message}` : `${rec.content} / ${rec.finish}`;
  return `[${rec.kind}${rec.stream ? ', stream' : ''}, +${rec.t0 - (rec.base ?? 0)}..${rec.t1 - (rec.base ?? 0)} ms] ${what}`;
}

// ---- fixture ---------------------------------------------------------------------------------------

let prereqError = null;
let baton;
let tmpDir;
let modelLink;
const seenPids = new Set();

before(async () => {
  try {
    checkPrerequisites();
  } catch (e) {
    prereqError = e;
    return;
  }
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-supervision-'));
  modelLink = path.join(tmpDir, 'tiny-supervision.gguf');
  fs.symlinkSync(TINY_MODEL, modelLink);
  baton = await startBaton({
    server: { listen: '127.0.0.1:0', workers: 2 },
    providers: { local: { kind: 'llama-server', binary: LLAMA_SERVER, model_path: modelLink, threads: 1, ctx_size: 512 } },
    models: [{ name: 'local', deployments: [{ provider: 'local', model: 'tiny' }] }],
  }, { readyDeadlineMs: 10_000 });
});
after(async () => {
  stopLoad = true;
  await baton?.stop('SIGKILL', 5_000).catch(() => {}); // only if a test failed before stopping it
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

function ready() {
  if (prereqError) throw prereqError;
  assert.ok(baton, 'baton did not start');
}

// ---- tests -----------------------------------------------------------------------------------------

test('kill -9 of llama-server under load: readiness 503 -> 200, new pid, clean errors, no hangs, recovery', { timeout: 30_000 }, async (t) => {
  ready();
  const first = startedServers(baton);
  assert.equal(first.length, 1, `expected one "started llama-server" line:\n${baton.stderr().slice(-3000)}`);
  const pid1 = first[0].pid;
  seenPids.add(pid1);
  assert.deepEqual(processesUsingModel(modelLink), [pid1],
    `the pid from baton's stderr should be the only process serving ${modelLink}`);

  const base = Date.now();
  const results = [];
  const readiness = []; // {t, status, body}
  const loadEnd = base + LOAD_MAX_MS;
  let stop = false;
  const stopped = () => stop || stopLoad || Date.now() > loadEnd;

  // Readiness poller: as fast as baton answers (each probe bounded), until told to stop.
  const poller = (async () => {
    while (!stopped()) {
      const t0 = Date.now();
      try {
        const r = await rawRequest(`${baton.url}/health/ready`, { timeoutMs: 2_000 });
        readiness.push({ t: t0, status: r.status, body: r.json ?? r.text });
      } catch (e) {
        readiness.push({ t: t0, status: 0, body: e.message });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const clients = Array.from({ length: CLIENTS }, (_, i) => (async () => {
    const sdk = openaiClient(baton.url, { timeout: CLIENT_TIMEOUT_MS, maxRetries: 0 });
    for (let n = 0; !stopped(); n++) {
      const rec = await oneRequest(sdk, (n + i) % 2 === 1);
      rec.base = base;
      rec.client = i;
      results.push(rec);
      if (rec.kind !== 'ok') await new Promise((r) => setTimeout(r, 5)); // don't spin on fast 503s
    }
  })());
  const okSince = (t) => results.filter((r) => r.kind === 'ok' && r.t0 > t).length;

  try {
    await waitFor(() => okSince(0) >= 8, 8_000, { what: '8 successful requests before the kill' });
    assert.ok(readiness.some((r) => r.status === 200), 'readiness was not 200 before the kill');

    const tKill = Date.now();
    process.kill(pid1, 'SIGKILL');

    const down = await waitFor(() => readiness.find((r) => r.t >= tKill && r.status === 503), 5_000,
      { what: 'GET /health/ready == 503 after the kill', intervalMs: 5 });
    assert.equal(down.body?.status, 'starting', `503 readiness body: ${JSON.stringify(down.body)}`);
    const up = await waitFor(() => readiness.find((r) => r.t > down.t && r.status === 200), 10_000,
      { what: 'GET /health/ready == 200 again after the restart', intervalMs: 10 });

    await waitFor(() => baton.stderr().includes(`llama-server pid ${pid1} died (signal 9)`), 5_000,
      { what: `"llama-server pid ${pid1} died (signal 9)" in baton's stderr` });
    const second = await waitFor(() => startedServers(baton)[1], 5_000, { what: 'a second "started llama-server" line' });
    const pid2 = second.pid;
    seenPids.add(pid2);
    assert.notEqual(pid2, pid1);
    assert.equal(running(pid1), false, `killed pid ${pid1} is still running`);
    assert.deepEqual(processesUsingModel(modelLink), [pid2], `after the restart only pid ${pid2} should serve ${modelLink}`);

    await waitFor(() => okSince(up.t) >= 8, 8_000, { what: '8 successful requests after recovery' });
    t.diagnostic(`kill at +${tKill - base} ms; ready 503 seen at +${down.t - base} ms, 200 again at +${up.t - base} ms `
      + `(${up.t - tKill} ms after the kill); new pid ${pid2} (was ${pid1})`);
  } catch (e) {
    const log = baton.stderr().split('\n').filter((l) => !l.includes('[local]')).slice(-25).join('\n');
    const states = readiness.map((r) => `+${r.t - base}:${r.status}`).filter((x, i, all) => i === 0 || x.split(':')[1] !== all[i - 1].split(':')[1]);
    e.message += `\n--- readiness transitions ---\n${states.join(' ')}\n--- baton stderr (without llama-server output) ---\n${log}`;
    throw e;
  } finally {
    stop = true;
    await Promise.all([...clients, poller]);
  }

  const byKind = {};
  for (const r of results) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  const codes = {};
  for (const r of results.filter((x) => x.kind === 'clean')) {
    const k = `${r.error.status ?? 'in-stream'}:${r.error.error?.code ?? r.error.code}`;
    codes[k] = (codes[k] ?? 0) + 1;
  }
  t.diagnostic(`${results.length} requests: ${JSON.stringify(byKind)}; errors: ${JSON.stringify(codes)}; `
    + `slowest ${Math.max(...results.map((r) => r.t1 - r.t0))} ms`);
  for (const r of results.filter((x) => x.kind === 'connection')) t.diagnostic(`connection error: ${describe(r)}`);

  const hung = results.filter((r) => r.kind === 'hung' || r.kind === 'timeout');
  assert.deepEqual(hung.map(describe), [], 'requests that did not settle within their timeout');
  const bad = results.filter((r) => r.kind === 'bad');
  assert.deepEqual(bad.map(describe), [], 'failures that were not a clean 502/503 JSON error with error.code');
  const wrong = results.filter((r) => r.kind === 'ok' && (r.content !== EXPECTED || r.finish !== 'stop'));
  assert.deepEqual(wrong.map(describe), [], 'successful answers with the wrong content');
  // While the only deployment is down, baton must say so with its own code (not hang, not a raw 5xx).
  for (const r of results.filter((x) => x.kind === 'clean' && x.error.status === 503)) {
    assert.equal(r.error.error?.code ?? r.error.code, 'no_deployment_available', describe(r));
  }
});

test('SIGTERM: baton exits 0 and no llama-server of this test remains', { timeout: 15_000 }, async () => {
  stopLoad = true;
  ready();
  for (const s of startedServers(baton)) seenPids.add(s.pid);
  assert.ok(seenPids.size >= 1);
  const code = await baton.stop('SIGTERM', 8_000);
  assert.equal(code, 0, `baton exit status after SIGTERM: ${code}\n--- stderr tail ---\n${baton.stderr().slice(-3000)}`);
  try {
    await waitFor(() => [...seenPids].every((pid) => !running(pid)) && processesUsingModel(modelLink).length === 0, 5_000,
      { what: `llama-server pids ${[...seenPids].join(', ')} gone`, intervalMs: 20 });
  } catch (e) {
    e.message += `; still running: ${[...seenPids].filter(running).join(', ') || 'none'}; `
      + `serving ${modelLink}: ${processesUsingModel(modelLink).join(', ') || 'none'}`;
    throw e;
  }
});
