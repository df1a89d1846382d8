// A managed local model (`kind: llama-server`) end to end: baton spawns the pinned llama-server with
// the tiny deterministic GGUF (always answers "Hello from the tiny local model.") and the official
// `openai` SDK talks to it through baton. Usage numbers are compared with what the same
// llama-server reports when it is asked directly (port taken from baton's stderr).
//
// Needs the pinned llama-server and var/models/tiny.gguf (`make test` builds both). When either is
// missing every test here FAILS with a message saying how to build it; nothing is skipped.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, startBaton } from './lib/baton.mjs';
import { collectStream, openaiClient, rawRequest, sseData } from './lib/http.mjs';

const EXPECTED = 'Hello from the tiny local model.';
const KOREAN = '안녕하세요, 오늘 날씨 어때요?';
const MESSAGES = [{ role: 'user', content: KOREAN }];
// The whole file stays well under a minute even when baton misbehaves: every request has a 5 s
// client timeout, and once this budget is spent the remaining tests fail at once.
const REQUEST_TIMEOUT_MS = 5_000;
const FILE_BUDGET_MS = 35_000;
const fileDeadline = Date.now() + FILE_BUDGET_MS;

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

/** Every llama-server baton reported starting, in order: [{pid, port}]. */
function startedServers(b) {
  return [...b.stderr().matchAll(/started llama-server pid (\d+) on 127\.0\.0\.1:(\d+)/g)]
    .map((m) => ({ pid: Number(m[1]), port: Number(m[2]) }));
}

// ---- fixture ---------------------------------------------------------------------------------------

let prereqError = null;
let baton;
let client;
let llamaUrl; // the llama-server baton spawned, asked directly

before(async () => {
  try {
    checkPrerequisites();
  } catch (e) {
    prereqError = e;
    return;
  }
  baton = await startBaton({
    server: { listen: '127.0.0.1:0', workers: 2 },
    providers: { local: { kind: 'llama-server', binary: LLAMA_SERVER, model_path: TINY_MODEL, threads: 1, ctx_size: 512 } },
    models: [{ name: 'local', deployments: [{ provider: 'local', model: 'tiny' }] }],
  }, { readyDeadlineMs: 10_000 });
  client = openaiClient(baton.url, { timeout: REQUEST_TIMEOUT_MS });
  const servers = startedServers(baton);
  assert.equal(servers.length, 1, `expected exactly one "started llama-server" line in baton's stderr:\n${baton.stderr().slice(-3000)}`);
  llamaUrl = `http://127.0.0.1:${servers[0].port}`;
});
afterEach(() => baton?.assertAlive());
after(async () => {
  if (baton) {
    const code = await baton.stop('SIGTERM', 5_000);
    assert.equal(code, 0, `baton exit status after SIGTERM: ${code}\n${baton.stderr().slice(-2000)}`);
  }
});

/** Fails the test at once (with the reason) when the model or the binary is missing. */
function ready() {
  if (prereqError) throw prereqError;
  assert.ok(baton, 'baton did not start');
  if (Date.now() > fileDeadline) throw new Error(`this file's ${FILE_BUDGET_MS} ms time budget is spent (earlier tests were slow)`);
}

/** POST straight to the llama-server baton manages (no baton in between). */
async function direct(body) {
  const r = await rawRequest(`${llamaUrl}/v1/chat/completions`, { method: 'POST', body, timeoutMs: REQUEST_TIMEOUT_MS });
  assert.equal(r.status, 200, `llama-server answered ${r.status}: ${r.text}`);
  return r;
}

function counts(usage) {
  assert.ok(usage && typeof usage === 'object', `no usage object: ${JSON.stringify(usage)}`);
  const { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total } = usage;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total };
}

function assertTruncated(content) {
  assert.equal(typeof content, 'string');
  assert.ok(content.length > 0 && content.length < EXPECTED.length && EXPECTED.startsWith(content),
    `max_tokens reply should be a non-empty strict prefix of "${EXPECTED}", got ${JSON.stringify(content)}`);
}

// ---- tests -----------------------------------------------------------------------------------------

for (const temperature of [0, 1]) {
  test(`non-stream, temperature ${temperature}: exact reply, finish_reason stop, routed to local/tiny`, { timeout: 12_000 }, async () => {
    ready();
    const { data, response } = await client.chat.completions
      .create({ model: 'local', messages: MESSAGES, temperature }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-baton-deployment'), 'local/tiny');
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, EXPECTED);
    assert.equal(data.choices[0].finish_reason, 'stop');
    const u = counts(data.usage);
    assert.equal(u.completion_tokens, 8, `completion_tokens (the reply plus EOS): ${JSON.stringify(data.usage)}`);
    assert.ok(u.prompt_tokens > 0, JSON.stringify(data.usage));
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  });
}

test('max_tokens: 3 truncates the reply with finish_reason "length"', { timeout: 12_000 }, async () => {
  ready();
  const data = await client.chat.completions.create({ model: 'local', messages: MESSAGES, temperature: 0, max_tokens: 3 });
  assertTruncated(data.choices[0].message.content);
  assert.equal(data.choices[0].finish_reason, 'length');
  assert.equal(data.usage.completion_tokens, 3, JSON.stringify(data.usage));
});

test('non-stream usage equals what llama-server reports when asked directly', { timeout: 15_000 }, async () => {
  ready();
  for (const extra of [{}, { max_tokens: 3 }]) {
    const body = { messages: MESSAGES, temperature: 0, ...extra };
    const viaBaton = await client.chat.completions.create({ model: 'local', ...body });
    const straight = (await direct({ model: 'tiny', ...body })).json;
    assert.deepEqual(counts(viaBaton.usage), counts(straight.usage),
      `usage for ${JSON.stringify(extra)}: baton ${JSON.stringify(viaBaton.usage)} vs llama-server ${JSON.stringify(straight.usage)}`);
    assert.equal(viaBaton.choices[0].message.content, straight.choices[0].message.content);
    assert.equal(viaBaton.choices[0].finish_reason, straight.choices[0].finish_reason);
  }
});

test('stream: deltas concatenate to the reply, finish_reason stop, no usage chunk without include_usage', { timeout: 12_000 }, async () => {
  ready();
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'local', messages: MESSAGES, temperature: 0, stream: true }).withResponse();
  assert.equal(response.headers.get('x-baton-deployment'), 'local/tiny');
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const r = await collectStream(stream, { deadlineMs: REQUEST_TIMEOUT_MS });
  assert.equal(r.error, null, `stream error: ${r.error?.stack ?? r.error}`);
  assert.equal(r.timedOut, false);
  assert.equal(r.content, EXPECTED);
  assert.ok(r.chunks.length >= 2, `only ${r.chunks.length} chunk(s)`);
  const finishes = r.chunks.map((c) => c.choices?.[0]?.finish_reason).filter(Boolean);
  assert.deepEqual(finishes, ['stop']);
  for (const c of r.chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.ok(c.usage === undefined || c.usage === null, `usage reached the client without include_usage: ${JSON.stringify(c)}`);
    assert.ok(Array.isArray(c.choices) && c.choices.length > 0, `usage-only (empty choices) chunk reached the client: ${JSON.stringify(c)}`);
  }
});

test('stream, raw SSE without include_usage: no "usage" anywhere, ends with [DONE]', { timeout: 12_000 }, async () => {
  ready();
  const r = await rawRequest(`${baton.url}/v1/chat/completions`, {
    method: 'POST', timeoutMs: REQUEST_TIMEOUT_MS,
    body: { model: 'local', messages: MESSAGES, temperature: 0, stream: true },
  });
  assert.equal(r.status, 200, r.text);
  const events = sseData(r.text);
  assert.equal(events.at(-1), '[DONE]', `last SSE event: ${events.at(-1)}`);
  assert.equal(events.filter((e) => e === '[DONE]').length, 1);
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.equal(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), EXPECTED);
  for (const c of chunks) assert.ok(!('usage' in c) || c.usage === null, `usage in ${JSON.stringify(c)}`);
});

test('stream with include_usage: ends with a usage chunk matching the non-stream usage', { timeout: 15_000 }, async () => {
  ready();
  const plain = await client.chat.completions.create({ model: 'local', messages: MESSAGES, temperature: 0 });
  const stream = await client.chat.completions.create({
    model: 'local', messages: MESSAGES, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  const r = await collectStream(stream, { deadlineMs: REQUEST_TIMEOUT_MS });
  assert.equal(r.error, null, `stream error: ${r.error?.stack ?? r.error}`);
  assert.equal(r.content, EXPECTED);
  const last = r.chunks.at(-1);
  assert.ok(last?.usage, `last chunk has no usage: ${JSON.stringify(last)}`);
  assert.deepEqual(last.choices, [], `the usage chunk should have empty choices: ${JSON.stringify(last)}`);
  assert.deepEqual(counts(last.usage), counts(plain.usage),
    `stream usage ${JSON.stringify(last.usage)} vs non-stream ${JSON.stringify(plain.usage)}`);
  const withUsage = r.chunks.filter((c) => c.usage);
  assert.equal(withUsage.length, 1, `usage chunks: ${JSON.stringify(withUsage)}`);
  assert.deepEqual(r.chunks.map((c) => c.choices?.[0]?.finish_reason).filter(Boolean), ['stop']);
});

test('stream with max_tokens: 3: truncated deltas, finish_reason "length", usage says 3', { timeout: 12_000 }, async () => {
  ready();
  const stream = await client.chat.completions.create({
    model: 'local', messages: MESSAGES, temperature: 1, max_tokens: 3, stream: true, stream_options: { include_usage: true },
  });
  const r = await collectStream(stream, { deadlineMs: REQUEST_TIMEOUT_MS });
  assert.equal(r.error, null, `stream error: ${r.error?.stack ?? r.error}`);
  assertTruncated(r.content);
  assert.deepEqual(r.chunks.map((c) => c.choices?.[0]?.finish_reason).filter(Boolean), ['length']);
  assert.equal(r.chunks.at(-1)?.usage?.completion_tokens, 3, JSON.stringify(r.chunks.at(-1)));
});
