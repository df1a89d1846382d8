// Health endpoints and Prometheus metrics of the real baton binary.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startFixture } from '../fixture/upstream.mjs';
import { startBaton } from './lib/baton.mjs';
import { standardConfig } from './lib/config.mjs';
import { openaiClient, rawRequest } from './lib/http.mjs';

let fx;
let baton;

before(async () => {
  fx = await startFixture();
  baton = await startBaton(standardConfig(fx));
});
// A crash (signal, abort) shows up on the test that caused it, with baton's stderr.
afterEach(() => baton?.assertAlive());
after(async () => {
  await baton?.stop();
  await fx?.close();
});

test('GET /health/live and /health/ready answer 200', { timeout: 20_000 }, async () => {
  for (const p of ['/health/live', '/health/ready']) {
    const r = await rawRequest(`${baton.url}${p}`);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
  }
});

test('GET /metrics: Prometheus text with baton_requests_total{model="gpt-test"} after a request', { timeout: 30_000 }, async () => {
  await openaiClient(baton.url).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'count me' }] });
  const r = await rawRequest(`${baton.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
  assert.match(r.text, /^# (HELP|TYPE) baton_requests_total/m);
  const lines = r.text.split('\n').filter((l) => l.startsWith('baton_requests_total{'));
  const line = lines.find((l) => l.includes('model="gpt-test"'));
  assert.ok(line, `no baton_requests_total line with model="gpt-test" in:\n${lines.join('\n')}`);
  const value = Number(line.trim().split(/\s+/).at(-1));
  assert.ok(value >= 1, `counter value ${value} in ${line}`);
});

test('a baton on SQLite storage never loads libpq (it is loaded at run time, for PostgreSQL only)', { timeout: 20_000 }, async () => {
  const r = await rawRequest(`${baton.url}/health/ready`);
  assert.equal(r.status, 200);
  const maps = readFileSync(`/proc/${baton.proc.pid}/maps`, 'utf8');
  assert.doesNotMatch(maps, /libpq\.so/, 'libpq is mapped');
  assert.doesNotMatch(maps, /libkrb5|libldap/, "libpq's dependencies are mapped");
});
