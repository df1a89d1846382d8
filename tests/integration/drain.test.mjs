// Graceful drain: SIGTERM while 50 streams are open -> all 50 complete, new connections are
// refused or answered with an error (never accepted into a hang), and baton exits 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, contentPieces } from '../fixture/upstream.mjs';
import { startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream } from './lib/http.mjs';

const STREAMS = 50;
const CHUNKS = 20;
const GAP_MS = 50;

let fx;
let baton;

before(async () => {
  fx = await startFixture();
  baton = await startBaton(standardConfig(fx));
});
after(async () => {
  await baton?.stop('SIGKILL');
  await fx?.close();
});

/** One probe on a fresh TCP connection: 'refused' | 'error-status' | 'accepted'; throws if it hangs. */
async function probeNewConnection() {
  try {
    const r = await rawRequest(`${baton.url}/v1/chat/completions`, {
      method: 'POST',
      timeoutMs: 2000,
      body: { model: 'gpt-test', messages: [{ role: 'user', content: 'late' }], fixture: { chunks: 1 } },
    });
    return r.status >= 400 ? 'error-status' : 'accepted';
  } catch (err) {
    if (/timed out/.test(err.message)) throw new Error('a new connection after SIGTERM hung (no answer within 2 s)');
    return 'refused'; // ECONNREFUSED, ECONNRESET, socket hang up ...
  }
}

test(`SIGTERM with ${STREAMS} open streams: all complete, new connections rejected, exit 0`, { timeout: 90_000 }, async () => {
  const client = openaiClient(baton.url, { timeout: 60_000 });
  let firstChunks = 0;
  const expected = contentPieces({ chunks: CHUNKS }).join('');

  const runs = Array.from({ length: STREAMS }, async (_, i) => {
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: `drain ${i}` }],
      stream: true,
      fixture: { chunks: CHUNKS, gap_ms: GAP_MS },
    });
    return collectStream(stream, { deadlineMs: 45_000, onChunk: (_c, all) => { if (all.length === 1) firstChunks++; } });
  });
  const setupErrors = [];
  runs.forEach((p, i) => p.then((r) => { if (r.error && r.chunks.length === 0) setupErrors.push(`#${i}: ${r.error}`); },
    (e) => setupErrors.push(`#${i}: ${e}`)));
  const settled = Promise.allSettled(runs);

  await waitFor(() => firstChunks === STREAMS || setupErrors.length, 30_000, { what: `all ${STREAMS} streams to receive their first chunk` })
    .catch((e) => { throw new Error(`${e.message}; got ${firstChunks}`); });
  assert.deepEqual(setupErrors, [], 'streams failed before SIGTERM');
  const sigAt = Date.now();
  baton.proc.kill('SIGTERM');

  // New connections: at least one probe within 3 s must be refused/errored; none may hang.
  const outcomes = [];
  while (!outcomes.length || outcomes.at(-1) === 'accepted') {
    assert.ok(Date.now() - sigAt < 3000, `baton kept accepting new requests for 3 s after SIGTERM: ${outcomes.join(',')}`);
    outcomes.push(await probeNewConnection());
  }
  const results = await settled;
  const failures = [];
  results.forEach((res, i) => {
    if (res.status === 'rejected') failures.push(`#${i}: create() rejected: ${res.reason}`);
    else if (res.value.timedOut) failures.push(`#${i}: timed out with ${res.value.chunks.length} chunks`);
    else if (res.value.error) failures.push(`#${i}: ${res.value.error.constructor.name}: ${res.value.error.message} after ${res.value.chunks.length} chunks`);
    else if (res.value.content !== expected) failures.push(`#${i}: incomplete content (${res.value.content.length}/${expected.length} chars)`);
  });
  assert.deepEqual(failures, [], `streams broken by the drain:\n${failures.join('\n')}\n--- baton stderr ---\n${baton.stderr()}`);

  const exit = await Promise.race([
    baton.exited,
    new Promise((resolve) => setTimeout(() => resolve(null), 20_000).unref()),
  ]);
  assert.ok(exit, `baton did not exit within 20 s after the streams finished\n--- stderr ---\n${baton.stderr()}`);
  assert.equal(exit.code, 0, `baton exit ${JSON.stringify(exit)} (SIGTERM at +0, exit after ${Date.now() - sigAt} ms)\n--- stderr ---\n${baton.stderr()}`);
});
