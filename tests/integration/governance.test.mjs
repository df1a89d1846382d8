// Governance end to end on one baton replica with its SQLite store: virtual keys (admin API and
// `baton keys` CLI), teams, auth (open dev mode, master key, missing / invalid / revoked / expired
// keys), per-key and per-team limits (models, rpm, tpm, max_parallel, budgets with reservations,
// KRW budgets), per-key guard overrides, usage records (/admin/usage JSON and CSV, exact token and
// cost sums, errors), the usage flush on SIGTERM (and budgets surviving the restart),
// `baton config check` for storage/pricing, and that no secret ever reaches baton's logs.
//
// Prices: every fixture deployment costs input 1000 / output 2000 USD per million tokens, i.e.
// $0.001 per prompt token and $0.002 per completion token, so the fixture's usage numbers give
// exact costs. A request's reservation is (body bytes / 4) input tokens + max_tokens (256 when
// absent) output tokens at the same price.
//
//   BATON_BIN=build/baton node --test tests/integration/governance.test.mjs
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startFixture } from '../fixture/upstream.mjs';
import { startBaton, waitFor } from './lib/baton.mjs';
import { standardConfig, UPSTREAM_KEY, MODEL_NAMES } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream, errorOf } from './lib/http.mjs';
import {
  adminClient, sha256Hex, fixturePromptTokens, costUsd, utcDay, runBaton,
  waitForUsage, sumRows,
} from './lib/governance.mjs';

const MASTER = `sk-master-${randomUUID()}`;
const PRICE = { input_per_mtok: 1000, output_per_mtok: 2000 };
const CACHED_PRICE = { input_per_mtok: 1000, cached_input_per_mtok: 250, output_per_mtok: 2000 };
const KRW_PER_USD = 1000;
const DEFAULT_COMPLETION_ALLOWANCE = 256;
const RRN = '900101-1234568'; // a Korean resident registration number with a valid check digit
const SINGLE_ATTEMPT = { retry: { max_attempts: 1 }, breaker: { consecutive_failures: 1000, failure_ratio: 0 } };
const EPS = 1e-8;

let fx;
let baton;
let admin;
const allBatons = []; // every baton this file started, for the log check at the end
const secrets = [MASTER]; // every secret this file created or presented; none may reach a log

/** The standard config with prices, a master key and a model with its own (cached-input) price. */
function govConfig({ masterKey = MASTER, storage } = {}) {
  const cfg = standardConfig(fx, {
    models: [{ name: 'cached-model', deployments: [{ provider: 'fx', model: 'upstream-model-id', price: CACHED_PRICE }], ...SINGLE_ATTEMPT }],
  });
  for (const m of cfg.models) {
    for (const d of m.deployments) if (!d.price) d.price = { ...PRICE };
  }
  // The guard override tests need a model whose own policy lets everything through.
  cfg.models.find((m) => m.name === 'gpt-test').guard = { pii: { action: 'allow' } };
  if (masterKey) cfg.auth = { master_key: masterKey };
  cfg.pricing = { krw_per_usd: KRW_PER_USD };
  if (storage) cfg.storage = storage;
  return cfg;
}

before(async () => {
  fx = await startFixture();
  baton = await startBaton(govConfig());
  allBatons.push(baton);
  admin = adminClient(baton.url, MASTER);
});
afterEach(() => baton?.assertAlive());
after(async () => {
  await baton?.stop();
  await fx?.close();
});

// ---------------------------------------------------------------------------------------------
// helpers

const mark = () => `gov-${randomUUID()}`; // fixed length: request sizes (reservations) stay predictable
const hits = (m) => fx.requests.filter((r) => r.body?.user === m);

/**
 * POST /admin/keys, then wait (<= 1 s) until `b` knows the key: its answer to the key is no longer
 * "invalid API key". (A new key is not always usable the moment the 201 arrives: see the test
 * 'keys: a created key is usable, and a revoked one refused, as soon as the admin call answers'.)
 */
async function createKey(body = {}, { a = admin, b = baton } = {}) {
  const r = await a.post('/admin/keys', body);
  assert.equal(r.status, 201, `POST /admin/keys ${JSON.stringify(body)}: ${r.status} ${r.text}`);
  assert.match(r.json.key, /^sk-baton-[0-9A-Za-z]{43}$/);
  secrets.push(r.json.key);
  await waitFor(async () => {
    const x = await rawRequest(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${r.json.key}` } });
    return x.status === 200 || (x.status === 401 && !/invalid API key/.test(x.text));
  }, 1000, { what: `baton knows the new key ${r.json.id}`, intervalMs: 10 });
  return r.json;
}

async function createTeam(body) {
  const r = await admin.post('/admin/teams', { id: `team-${randomUUID().slice(0, 8)}`, ...body });
  assert.equal(r.status, 201, `POST /admin/teams: ${r.status} ${r.text}`);
  return r.json;
}

const authHeader = (secret) => (secret ? { authorization: `Bearer ${secret}` } : {});

/**
 * Raw POST to a /v1 endpoint with `secret` as Bearer token: {status, headers, text, json}.
 * opts.base: another baton than the shared one; opts.extra: more request headers.
 */
function post(path, secret, body, { base = baton, extra = {} } = {}) {
  return rawRequest(`${base.url}${path}`, { method: 'POST', body, headers: { ...authHeader(secret), ...extra } });
}
const chat = (secret, body, opts) => post('/v1/chat/completions', secret, body, opts);
const chatBody = (extra = {}) => ({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], user: mark(), ...extra });

function models(secret, b = baton) {
  return rawRequest(`${b.url}/v1/models`, { headers: authHeader(secret) });
}

function assertError(r, status, code, what = '') {
  const ctx = `${what} -> ${r.status} ${r.text.slice(0, 500)}`;
  assert.equal(r.status, status, ctx);
  assert.equal(errorOf(r.json)?.code, code, ctx);
  return errorOf(r.json);
}

function assertLimited(r, { code = 'rate_limited', limit, scope, maxRetryS = 60, what = '' }) {
  const err = assertError(r, 429, code, what);
  const ctx = `${what}: ${JSON.stringify(r.headers)} ${r.text}`;
  assert.equal(r.headers['x-baton-limit'], limit, ctx);
  const retry = Number(r.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= maxRetryS, `retry-after must be 1..${maxRetryS} s: ${ctx}`);
  if (scope) assert.ok(err.message.includes(scope), `the message must name ${scope}: ${ctx}`);
  return err;
}

/** The reservation baton makes before a chat call with this exact JSON body. */
function reservationUsd(body) {
  const bytes = Buffer.byteLength(JSON.stringify(body));
  return costUsd(PRICE, { input: Math.floor(bytes / 4), output: body.max_tokens ?? DEFAULT_COMPLETION_ALLOWANCE });
}

/** Cost of a plain fixture chat answer (3 completion tokens) for these messages. */
const fixtureChatCost = (messages, completion = 3) => costUsd(PRICE, { input: fixturePromptTokens(messages), output: completion });

function metricValue(text, name) {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function usagePending(b = baton) {
  const r = await rawRequest(`${b.url}/metrics`);
  const v = metricValue(r.text, 'baton_usage_records_pending');
  assert.notEqual(v, undefined, 'baton_usage_records_pending is exported');
  return v;
}

/** Waits until every queued usage record was written, then the store's total request count. */
async function settledTotalRequests() {
  await waitFor(async () => (await usagePending()) === 0, 5000, { what: 'usage records pending == 0' });
  const r = await admin.get('/admin/usage');
  assert.equal(r.status, 200, r.text);
  return sumRows(r.json.data, 'requests');
}

// ---------------------------------------------------------------------------------------------
// auth

test('auth: with a master key, /v1/* needs a key; 401 invalid_api_key for missing and unknown keys; the master key works', { timeout: 30_000 }, async () => {
  const m = mark();
  const noAuth = [
    await models(undefined),
    await chat(undefined, chatBody({ user: m })),
    await post('/v1/embeddings', undefined, { model: 'embed-test', input: 'x', user: m }),
  ];
  for (const r of noAuth) {
    const err = assertError(r, 401, 'invalid_api_key', 'no Authorization');
    assert.equal(err.type, 'authentication_error');
    assert.match(err.message, /no API key/i);
    assert.match(r.headers['www-authenticate'] ?? '', /^Bearer/);
  }

  const wrong = `sk-baton-${'W'.repeat(43)}`;
  secrets.push(wrong);
  for (const r of [await models(wrong), await chat(wrong, chatBody({ user: m })),
    await chat(undefined, chatBody({ user: m }), { extra: { 'x-api-key': wrong } })]) {
    const err = assertError(r, 401, 'invalid_api_key', 'unknown key');
    assert.match(err.message, /invalid API key/i);
    assert.ok(!r.text.includes(wrong), 'the 401 never echoes the presented token');
  }
  assert.equal(hits(m).length, 0, 'no unauthenticated request reached the upstream');

  const listed = await models(MASTER);
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.json.data.map((d) => d.id).sort(), [...MODEL_NAMES, 'cached-model'].sort());
  const client = openaiClient(baton.url, { apiKey: MASTER });
  const done = await client.chat.completions.create(chatBody({ user: m }));
  assert.equal(done.choices[0].message.content, 'tok0 tok1 tok2 ');
  assert.equal(hits(m).length, 1);
  assert.notEqual(hits(m)[0].headers.authorization, `Bearer ${MASTER}`, 'the client key is never forwarded upstream');
});

test('auth: a created key works as Bearer and as x-api-key; admin endpoints need the master key', { timeout: 30_000 }, async () => {
  const key = await createKey({ name: 'auth-basic' });
  const client = openaiClient(baton.url, { apiKey: key.key });
  const m = mark();
  const done = await client.chat.completions.create(chatBody({ user: m }));
  assert.equal(done.object, 'chat.completion');
  assert.equal(hits(m)[0].headers.authorization, `Bearer ${UPSTREAM_KEY}`, 'upstream gets the provider key, not the virtual key');
  const emb = await client.embeddings.create({ model: 'embed-test', input: 'hello' });
  assert.equal(emb.data.length, 1);
  const viaHeader = await chat(undefined, chatBody(), { extra: { 'x-api-key': key.key } });
  assert.equal(viaHeader.status, 200, viaHeader.text);
  const lower = await rawRequest(`${baton.url}/v1/models`, { headers: { authorization: `bearer ${key.key}` } });
  assert.equal(lower.status, 200, `the Bearer scheme is case-insensitive: ${lower.text}`);

  for (const [method, p] of [['GET', '/admin/keys'], ['POST', '/admin/keys'], ['GET', '/admin/teams'], ['POST', '/admin/teams'],
    ['GET', '/admin/usage'], ['DELETE', `/admin/keys/${key.id}`], ['GET', `/admin/keys/${key.id}`]]) {
    for (const auth of [null, key.key, `${MASTER}x`]) {
      const r = await admin.call(method, p, method === 'POST' ? {} : undefined, { auth });
      assertError(r, 401, 'invalid_api_key', `${method} ${p} with ${auth === key.key ? 'a virtual key' : auth ? 'a wrong master key' : 'no auth'}`);
    }
  }
  // The refused DELETE above must not have revoked anything.
  const still = await models(key.key);
  assert.equal(still.status, 200, still.text);
});

test('keys: DELETE revokes (401 "revoked" within 1 s), GET shows it revoked, a second DELETE or an unknown id is 404', { timeout: 30_000 }, async () => {
  const key = await createKey({ name: 'to-revoke' });
  assert.equal((await models(key.key)).status, 200);
  const r = await admin.del(`/admin/keys/${key.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.id, key.id);
  assert.equal(r.json.revoked, true);
  const denied = await waitFor(async () => {
    const x = await chat(key.key, chatBody());
    return x.status === 401 ? x : null;
  }, 1000, { what: 'revoked key refused', intervalMs: 10 });
  const err = assertError(denied, 401, 'invalid_api_key', 'revoked key');
  assert.match(err.message, /revoked/);
  assert.ok(err.message.includes(key.id), 'the message names the key id');
  assert.ok(!denied.text.includes(key.key));
  assertError(await models(key.key), 401, 'invalid_api_key', 'revoked key on /v1/models');
  assertError(await post('/v1/embeddings', key.key, { model: 'embed-test', input: 'x' }), 401, 'invalid_api_key', 'revoked key on embeddings');

  const one = await admin.get(`/admin/keys/${key.id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.revoked, true);
  assert.ok(Number.isInteger(one.json.revoked_at) && Math.abs(one.json.revoked_at - Date.now() / 1000) < 60, one.text);
  assertError(await admin.del(`/admin/keys/${key.id}`), 404, 'not_found', 'second revoke');
  assertError(await admin.del('/admin/keys/key_0000000000000000'), 404, 'not_found', 'unknown id');
  assertError(await admin.get('/admin/keys/key_0000000000000000'), 404, 'not_found', 'GET unknown id');
});

test('keys: a created key is usable, and a revoked one refused, as soon as the admin call answers (this replica)', { timeout: 60_000 }, async () => {
  // The admin handler reloads the key directory of the replica that served it; a client that gets
  // the 201 (or the DELETE's 200) may use (or lose) the key with its very next request.
  // fetch keeps the admin call's connection alive, so the next request follows at once.
  const modelsNow = async (secret) => {
    const r = await fetch(`${baton.url}/v1/models`, { headers: authHeader(secret), signal: AbortSignal.timeout(5000) });
    return { status: r.status, text: await r.text() };
  };
  const ROUNDS = 150;
  const lateCreate = [];
  const lateRevoke = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await admin.post('/admin/keys', { name: `immediate-${i}` });
    assert.equal(r.status, 201, r.text);
    secrets.push(r.json.key);
    const used = await modelsNow(r.json.key);
    if (used.status !== 200) lateCreate.push(`${r.json.id}: ${used.status} ${used.text}`);
    // Let the directory catch up before revoking, so the two checks stay independent.
    await waitFor(async () => (await models(r.json.key)).status === 200, 1000, { what: 'key known', intervalMs: 10 });
    const del = await admin.del(`/admin/keys/${r.json.id}`);
    assert.equal(del.status, 200, del.text);
    const after = await modelsNow(r.json.key);
    if (after.status !== 401) lateRevoke.push(`${r.json.id}: ${after.status}`);
  }
  assert.deepEqual({ lateCreate, lateRevoke }, { lateCreate: [], lateRevoke: [] },
    `${lateCreate.length}/${ROUNDS} new keys were refused (401 invalid API key) by their first request right after the 201; `
    + `${lateRevoke.length}/${ROUNDS} revoked keys still worked right after the DELETE answered 200`);
});

test('keys: expired keys get 401 "expired" (expires_at in the past; expires_in elapses)', { timeout: 30_000 }, async () => {
  const past = await createKey({ expires_at: Math.floor(Date.now() / 1000) - 60 });
  const err = assertError(await chat(past.key, chatBody()), 401, 'invalid_api_key', 'expires_at in the past');
  assert.match(err.message, /expired/);
  assert.ok(err.message.includes(past.id));

  const short = await createKey({ expires_in: 2 });
  assert.ok(Math.abs(short.expires_at - (short.created_at + 2)) <= 1, JSON.stringify(short));
  const first = await chat(short.key, chatBody());
  assert.equal(first.status, 200, `a fresh key with expires_in 2 works: ${first.text}`);
  const later = await waitFor(async () => {
    const x = await models(short.key);
    return x.status === 401 ? x : null;
  }, 6000, { what: 'expires_in: 2 elapsed', intervalMs: 100 });
  assert.match(errorOf(later.json).message, /expired/);

  for (const [given, seconds] of [['30d', 30 * 86400], ['12h', 12 * 3600], ['15m', 900], [3600, 3600]]) {
    const k = await createKey({ expires_in: given });
    const now = Date.now() / 1000;
    assert.ok(Math.abs(k.expires_at - (now + seconds)) < 30, `expires_in ${given}: expires_at ${k.expires_at}, expected ~${now + seconds}`);
    assert.equal((await models(k.key)).status, 200);
  }
});

// ---------------------------------------------------------------------------------------------
// admin API: keys and teams

test('keys: POST echoes every field and shows the secret once; GET list/one show a preview, never the secret or its hash', { timeout: 30_000 }, async () => {
  const team = await createTeam({ name: 'echo-team' });
  const body = {
    name: 'full key', team: team.id, models: ['gpt-test', 'embed-test'], rpm: 60, tpm: 100000, max_parallel: 4,
    budget: { amount: 12.5, currency: 'KRW', period: 'weekly' }, fail_mode: 'closed',
    guard: { pii: { action: 'redact', allowed_residency: ['kr'], types: { KR_RRN: 'block' } } },
    metadata: { owner: 'data-team', n: 1, nested: { ok: true } }, expires_in: '12h',
  };
  const before = Math.floor(Date.now() / 1000);
  const key = await createKey(body);
  assert.match(key.id, /^key_[0-9a-f]{16}$/);
  assert.equal(key.object, 'key');
  assert.equal(key.name, 'full key');
  assert.equal(key.team, team.id);
  assert.deepEqual(key.models, ['gpt-test', 'embed-test']);
  assert.equal(key.rpm, 60);
  assert.equal(key.tpm, 100000);
  assert.equal(key.max_parallel, 4);
  assert.deepEqual(key.budget, { amount: 12.5, currency: 'KRW', period: 'weekly' });
  assert.equal(key.fail_mode, 'closed');
  assert.deepEqual(key.guard, body.guard);
  assert.deepEqual(key.metadata, body.metadata);
  assert.ok(key.created_at >= before - 1 && key.created_at <= Date.now() / 1000 + 1, JSON.stringify(key));
  assert.ok(Math.abs(key.expires_at - (key.created_at + 12 * 3600)) <= 1, JSON.stringify(key));
  assert.equal(key.revoked, false);
  assert.ok(key.preview.startsWith(key.key.slice(0, 12)) && key.preview.endsWith(key.key.slice(-4)), key.preview);
  assert.ok(key.preview.length < key.key.length);

  const plain = await createKey({});
  assert.ok(plain.metadata === null || JSON.stringify(plain.metadata) === '{}', `no metadata: ${JSON.stringify(plain)}`);
  assert.deepEqual({ ...plain, id: 0, key: 0, preview: 0, created_at: 0, metadata: 0 }, {
    id: 0, object: 'key', name: '', team: null, preview: 0, models: [], rpm: 0, tpm: 0, max_parallel: 0, budget: null,
    fail_mode: 'inherit', guard: null, metadata: 0, created_at: 0, expires_at: null, revoked: false, revoked_at: null, key: 0,
  });

  const list = await admin.get('/admin/keys');
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.object, 'list');
  for (const k of [key, plain]) {
    const found = list.json.data.find((d) => d.id === k.id);
    assert.ok(found, `${k.id} is listed`);
    const { key: secret, ...shown } = k;
    assert.deepEqual(found, shown);
    const one = await admin.get(`/admin/keys/${k.id}`);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json, shown);
    assert.ok(!one.text.includes(secret) && !one.text.includes(sha256Hex(secret)), 'GET one shows neither secret nor hash');
  }
  for (const s of secrets.filter((x) => x.startsWith('sk-baton-'))) {
    assert.ok(!list.text.includes(s), 'the list never shows a secret');
    assert.ok(!list.text.includes(sha256Hex(s)), 'the list never shows a hash');
  }
  for (const d of list.json.data) {
    assert.equal(d.key, undefined);
    assert.equal(d.hash, undefined);
    assert.match(d.preview, /^sk-baton-/);
  }
  const wrongMethod = await admin.call('PUT', '/admin/keys', {});
  assert.equal(wrongMethod.status, 405, wrongMethod.text);
});

test('keys: unknown fields and bad values are 400 invalid_field naming the field; an unknown team is 400 param team', { timeout: 30_000 }, async () => {
  const countBefore = (await admin.get('/admin/keys')).json.data.length;
  const cases = [
    [{ bogus: 1 }, 'bogus'],
    [{ name: 5 }, 'name'],
    [{ rpm: -1 }, 'rpm'],
    [{ rpm: 'ten' }, 'rpm'],
    [{ tpm: 1.5 }, 'tpm'],
    [{ max_parallel: -2 }, 'max_parallel'],
    [{ models: 'gpt-test' }, 'models'],
    [{ models: [1] }, 'models'],
    [{ budget: 5 }, 'budget'],
    [{ budget: { amount: -1 } }, 'budget.amount'],
    [{ budget: { amount: 1, currency: 'EUR' } }, 'budget.currency'],
    [{ budget: { amount: 1, period: 'yearly' } }, 'budget.period'],
    [{ budget: { amount: 1, cap: 2 } }, 'budget.cap'],
    [{ fail_mode: 'maybe' }, 'fail_mode'],
    [{ guard: { pii: { action: 'explode' } } }, 'guard.pii.action'],
    [{ guard: { pii: { types: { NOT_A_TYPE: 'block' } } } }, 'guard.pii.types'],
    [{ guard: { other: 1 } }, 'guard.other'],
    [{ metadata: [1, 2] }, 'metadata'],
    [{ expires_in: '3y' }, 'expires_in'],
    [{ expires_in: 0 }, 'expires_in'],
    [{ expires_in: -5 }, 'expires_in'],
    [{ expires_at: 'tomorrow' }, 'expires_at'],
    [{ team: 7 }, 'team'],
  ];
  for (const [body, field] of cases) {
    const r = await admin.post('/admin/keys', body);
    const err = assertError(r, 400, 'invalid_field', `POST /admin/keys ${JSON.stringify(body)}`);
    assert.ok(err.message.includes(field), `message must name ${field}: ${err.message}`);
  }
  const noTeam = await admin.post('/admin/keys', { team: 'team-that-does-not-exist' });
  const err = assertError(noTeam, 400, 'invalid_field', 'unknown team');
  assert.equal(err.param, 'team');
  assertError(await admin.post('/admin/keys', '{"name": '), 400, 'invalid_json', 'malformed JSON');
  assertError(await admin.post('/admin/keys', '[1]'), 400, 'invalid_json', 'a JSON array');
  const countAfter = (await admin.get('/admin/keys')).json.data.length;
  assert.equal(countAfter, countBefore, 'no refused POST created a key');
});

test('teams: POST creates (201) or updates the given fields (200); GET list/one; DELETE; validation', { timeout: 30_000 }, async () => {
  const id = `team-crud-${randomUUID().slice(0, 8)}`;
  const created = await admin.post('/admin/teams', { id, name: 'A', models: ['gpt-test'], rpm: 7, budget: { amount: 3, currency: 'USD', period: 'daily' }, metadata: { cc: '42' } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.id, id);
  assert.equal(created.json.object, 'team');
  assert.equal(created.json.name, 'A');
  assert.deepEqual(created.json.models, ['gpt-test']);
  assert.equal(created.json.rpm, 7);
  assert.deepEqual(created.json.budget, { amount: 3, currency: 'USD', period: 'daily' });
  assert.deepEqual(created.json.metadata, { cc: '42' });

  const updated = await admin.post('/admin/teams', { id, name: 'B', tpm: 500 });
  assert.equal(updated.status, 200, updated.text);
  assert.equal(updated.json.name, 'B');
  assert.equal(updated.json.tpm, 500);
  assert.equal(updated.json.rpm, 7, 'fields not given are kept');
  assert.deepEqual(updated.json.models, ['gpt-test']);
  assert.deepEqual(updated.json.budget, created.json.budget);
  assert.equal(updated.json.created_at, created.json.created_at);

  const generated = await admin.post('/admin/teams', { name: 'no id given' });
  assert.equal(generated.status, 201, generated.text);
  assert.match(generated.json.id, /^team_[0-9a-f]{16}$/);

  const list = await admin.get('/admin/teams');
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.object, 'list');
  assert.deepEqual(list.json.data.find((t) => t.id === id), updated.json);
  assert.ok(list.json.data.some((t) => t.id === generated.json.id));
  const one = await admin.get(`/admin/teams/${id}`);
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.json, updated.json);

  for (const [body, field] of [[{ bogus: 1 }, 'bogus'], [{ id: '' }, 'id'], [{ id: 5 }, 'id'], [{ rpm: -1 }, 'rpm'],
    [{ budget: { amount: 1, currency: 'JPY' } }, 'budget.currency'], [{ fail_mode: 'sometimes' }, 'fail_mode'],
    [{ id, rpm: 'x' }, 'rpm']]) {
    const r = await admin.post('/admin/teams', body);
    const err = assertError(r, 400, 'invalid_field', `POST /admin/teams ${JSON.stringify(body)}`);
    assert.ok(err.message.includes(field), `message must name ${field}: ${err.message}`);
  }
  assert.equal((await admin.get(`/admin/teams/${id}`)).json.rpm, 7, 'a refused update changed nothing');

  const del = await admin.del(`/admin/teams/${id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.id, id);
  assert.equal(del.json.deleted, true);
  assertError(await admin.get(`/admin/teams/${id}`), 404, 'not_found', 'GET deleted team');
  assertError(await admin.del(`/admin/teams/${id}`), 404, 'not_found', 'DELETE deleted team');
  assert.ok(!(await admin.get('/admin/teams')).json.data.some((t) => t.id === id));
});

test('teams: an id that needs percent-encoding is either refused or addressable by its encoded path', { timeout: 30_000 }, async () => {
  const id = `ml team ${randomUUID().slice(0, 4)}`;
  const created = await admin.post('/admin/teams', { id, name: 'spaces' });
  if (created.status === 400) return; // refusing such ids is fine
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.id, id);
  const one = await admin.get(`/admin/teams/${encodeURIComponent(id)}`);
  assert.equal(one.status, 200, `GET /admin/teams/${encodeURIComponent(id)}: ${one.text}`);
  const del = await admin.del(`/admin/teams/${encodeURIComponent(id)}`);
  assert.equal(del.status, 200, `DELETE /admin/teams/${encodeURIComponent(id)}: ${del.text}`);
});

// ---------------------------------------------------------------------------------------------
// limits

test('models: a key limited to some models gets 403 permission_denied for the others and sees only its own in /v1/models', { timeout: 30_000 }, async () => {
  const key = await createKey({ models: ['gpt-test'] });
  const client = openaiClient(baton.url, { apiKey: key.key });
  const ok = await client.chat.completions.create(chatBody());
  assert.equal(ok.object, 'chat.completion');
  const m = mark();
  const denied = await post('/v1/embeddings', key.key, { model: 'embed-test', input: 'x', user: m });
  const err = assertError(denied, 403, 'permission_denied', 'embed-test with a gpt-test-only key');
  assert.equal(err.param, 'model');
  assert.equal(err.type, 'permission_error');
  assertError(await chat(key.key, chatBody({ model: 'slow-model', user: m })), 403, 'permission_denied', 'slow-model');
  assert.equal(hits(m).length, 0, 'a denied model is never called');
  await assert.rejects(client.embeddings.create({ model: 'embed-test', input: 'y' }), (e) => e.status === 403 && e.code === 'permission_denied');
  const listed = await models(key.key);
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.json.data.map((d) => d.id), ['gpt-test']);
  assert.deepEqual((await client.models.list()).data.map((d) => d.id), ['gpt-test']);

  // A team's list intersects with its key's.
  const team = await createTeam({ models: ['gpt-test', 'embed-test'] });
  const both = await createKey({ team: team.id, models: ['embed-test', 'slow-model'] });
  assert.deepEqual((await models(both.key)).json.data.map((d) => d.id), ['embed-test']);
  assertError(await chat(both.key, chatBody()), 403, 'permission_denied', 'gpt-test: the key does not list it');
  assertError(await chat(both.key, chatBody({ model: 'slow-model' })), 403, 'permission_denied', 'slow-model: the team does not list it');
  assert.equal((await post('/v1/embeddings', both.key, { model: 'embed-test', input: 'z' })).status, 200);
  const teamOnly = await createKey({ team: team.id });
  assert.deepEqual((await models(teamOnly.key)).json.data.map((d) => d.id).sort(), ['embed-test', 'gpt-test']);
  assertError(await chat(teamOnly.key, chatBody({ model: 'dead-model' })), 403, 'permission_denied', 'dead-model via the team');

  // Updating the team's models takes effect on this replica (poll <= 1 s); deleting the team lifts them.
  const upd = await admin.post('/admin/teams', { id: team.id, models: ['gpt-test'] });
  assert.equal(upd.status, 200, upd.text);
  await waitFor(async () => JSON.stringify((await models(teamOnly.key)).json.data.map((d) => d.id)) === '["gpt-test"]', 1000,
    { what: 'team models update applied' });
  assert.equal((await admin.del(`/admin/teams/${team.id}`)).status, 200);
  await waitFor(async () => (await models(teamOnly.key)).json.data.length === MODEL_NAMES.length + 1, 1000,
    { what: 'deleted team no longer limits its keys' });
  assert.equal((await chat(teamOnly.key, chatBody())).status, 200);
});

test('rpm: the (rpm+1)-th request in a minute gets 429 rate_limited with retry-after and x-baton-limit: rpm', { timeout: 30_000 }, async () => {
  const key = await createKey({ rpm: 3 });
  const other = await createKey({ rpm: 3 });
  const m = mark();
  assert.equal((await chat(key.key, chatBody({ user: m }))).status, 200);
  assert.equal((await post('/v1/embeddings', key.key, { model: 'embed-test', input: 'x', user: m })).status, 200);
  assert.equal((await chat(key.key, chatBody({ user: m, stream: true }))).status, 200);
  const refused = await chat(key.key, chatBody({ user: m }));
  const err = assertLimited(refused, { limit: 'rpm', scope: `key:${key.id}`, what: '4th request, rpm 3' });
  assert.equal(err.type, 'rate_limit_error');
  assertLimited(await post('/v1/embeddings', key.key, { model: 'embed-test', input: 'x', user: m }), { limit: 'rpm', what: '5th (embeddings)' });
  assert.equal(hits(m).length, 3, 'refused requests never reach the upstream');
  // The SDK sees a RateLimitError.
  const client = openaiClient(baton.url, { apiKey: key.key });
  await assert.rejects(client.chat.completions.create(chatBody()), (e) => e.status === 429 && e.code === 'rate_limited'
    && e.headers.get('x-baton-limit') === 'rpm');
  // Other keys and the master key are not affected.
  assert.equal((await chat(other.key, chatBody())).status, 200);
  assert.equal((await chat(MASTER, chatBody())).status, 200);
  // /v1/models is not a model request: it is not limited.
  assert.equal((await models(key.key)).status, 200);
});

test('max_parallel: requests beyond max_parallel in flight get 429 x-baton-limit: parallel; slots free when they end', { timeout: 30_000 }, async () => {
  const key = await createKey({ max_parallel: 2 });
  const m = mark();
  const slow = [1, 2].map(() => chat(key.key, chatBody({ user: m, fixture: { delay_ms: 1500 } })));
  await waitFor(() => hits(m).length === 2, 5000, { what: 'both slow requests reached the upstream' });
  const refused = await chat(key.key, chatBody({ user: m }));
  assertLimited(refused, { limit: 'parallel', scope: `key:${key.id}`, maxRetryS: 5, what: '3rd in flight' });
  const streamRefused = await chat(key.key, chatBody({ user: m, stream: true }));
  assertLimited(streamRefused, { limit: 'parallel', what: '3rd in flight (stream)' });
  for (const r of await Promise.all(slow)) assert.equal(r.status, 200, r.text);
  assert.equal(hits(m).length, 2);
  const after1 = await chat(key.key, chatBody({ user: m }));
  assert.equal(after1.status, 200, `a slot is free again: ${after1.text}`);
  // A stream holds its slot until it ends.
  const streaming = chat(key.key, chatBody({ user: m, stream: true, fixture: { chunks: 3, gap_ms: 500 } }));
  const held = chat(key.key, chatBody({ user: m, fixture: { delay_ms: 1500 } }));
  await waitFor(() => hits(m).length === 5, 5000, { what: 'stream + slow request in flight' });
  assertLimited(await chat(key.key, chatBody({ user: m })), { limit: 'parallel', what: 'while a stream is in flight' });
  assert.equal((await streaming).status, 200);
  assert.equal((await held).status, 200);
  assert.equal((await chat(key.key, chatBody({ user: m }))).status, 200);
});

test('max_parallel 1: requests sent one after another are never refused (the slot is free before the client has its answer)', { timeout: 30_000 }, async () => {
  const key = await createKey({ name: 'sequential', max_parallel: 1 });
  for (let i = 0; i < 40; i++) {
    const r = await chat(key.key, chatBody(i % 2 ? {} : { fixture: { status: 400 } }));
    assert.equal(r.status, i % 2 ? 200 : 400, `request ${i}: ${r.status} ${r.text.slice(0, 200)}`);
  }
});

test('max_parallel: a stream the client abandons gives its slot back (and is still recorded)', { timeout: 30_000 }, async () => {
  const key = await createKey({ max_parallel: 1 });
  const client = openaiClient(baton.url, { apiKey: key.key });
  const m = mark();
  const stream = await client.chat.completions.create(chatBody({ user: m, stream: true, fixture: { chunks: 50, gap_ms: 200 } }));
  const r = await collectStream(stream, { onChunk: () => 'stop' }); // one chunk, then the SDK closes the connection
  assert.equal(r.chunks.length, 1, String(r.error));
  stream.controller.abort();
  await waitFor(async () => (await chat(key.key, chatBody())).status === 200, 5000,
    { what: 'the slot of the abandoned stream is free again', intervalMs: 100 });
  const u = await waitForUsage(admin, `key=${key.id}`, (j) => sumRows(j.data, 'requests') >= 2);
  assert.ok(u.data[0].requests >= 2, JSON.stringify(u));
});

test('budget: a failed upstream call releases its reservation and costs nothing', { timeout: 30_000 }, async () => {
  const body = (extra) => chatBody({ max_tokens: 100, ...extra });
  const r = reservationUsd(body({ fixture: { status: 500 } }));
  const c = fixtureChatCost(body().messages);
  const budget = 1.2 * r;
  assert.ok(c + reservationUsd(body()) <= budget && 2 * reservationUsd(body()) > budget);
  const key = await createKey({ budget: { amount: Number(budget.toFixed(9)), currency: 'USD', period: 'daily' } });
  for (let i = 0; i < 3; i++) {
    const failed = await chat(key.key, body({ fixture: { status: 500 } }));
    assert.ok(failed.status >= 500, `attempt ${i}: ${failed.status} ${failed.text}`);
  }
  const ok = await chat(key.key, body());
  assert.equal(ok.status, 200, `the failed calls left the budget untouched: ${ok.text}`);
  const u = await waitForUsage(admin, `key=${key.id}`, (j) => sumRows(j.data, 'requests') === 4);
  assert.equal(u.data[0].errors, 3);
  assert.ok(Math.abs(u.data[0].cost_usd - c) < EPS, JSON.stringify(u));
});

test('tpm: once the tokens settled within a minute reach tpm, the next request gets 429 x-baton-limit: tpm', { timeout: 30_000 }, async () => {
  const key = await createKey({ tpm: 10 });
  const client = openaiClient(baton.url, { apiKey: key.key });
  let used = 0;
  let admitted = 0;
  while (used < 10) {
    const r = await client.chat.completions.create(chatBody());
    used += r.usage.prompt_tokens + r.usage.completion_tokens;
    admitted += 1;
    assert.ok(admitted <= 10, 'tpm never refused');
  }
  assert.equal(admitted, 3, `each answer costs 4 tokens (1 prompt + 3 completion): ${used} tokens after ${admitted}`);
  const refused = await chat(key.key, chatBody());
  assertLimited(refused, { limit: 'tpm', scope: `key:${key.id}`, what: `after ${used} tokens, tpm 10` });
  // Streams count their tokens too.
  const key2 = await createKey({ tpm: 5 });
  const s = await chat(key2.key, chatBody({ stream: true, fixture: { chunks: 6 } }));
  assert.equal(s.status, 200);
  assertLimited(await chat(key2.key, chatBody()), { limit: 'tpm', what: 'after a 7-token stream, tpm 5' });
});

test('teams: team limits apply across its keys and a request must pass both the key and the team', { timeout: 30_000 }, async () => {
  const team = await createTeam({ rpm: 3 });
  const a = await createKey({ team: team.id });
  const b = await createKey({ team: team.id });
  const outsider = await createKey({});
  assert.equal((await chat(a.key, chatBody())).status, 200);
  assert.equal((await chat(b.key, chatBody())).status, 200);
  assert.equal((await chat(a.key, chatBody())).status, 200);
  assertLimited(await chat(b.key, chatBody()), { limit: 'rpm', scope: `team:${team.id}`, what: 'team rpm 3, 4th over two keys' });
  assertLimited(await chat(a.key, chatBody()), { limit: 'rpm', scope: `team:${team.id}`, what: 'team rpm 3, 5th' });
  assert.equal((await chat(outsider.key, chatBody())).status, 200);

  // The key's own, tighter limit.
  const loose = await createTeam({ rpm: 100 });
  const tight = await createKey({ team: loose.id, rpm: 1 });
  assert.equal((await chat(tight.key, chatBody())).status, 200);
  assertLimited(await chat(tight.key, chatBody()), { limit: 'rpm', scope: `key:${tight.id}`, what: 'key rpm 1 in a team with rpm 100' });

  // A request refused by the team is not counted against the key (and vice versa).
  const t2 = await createTeam({ rpm: 1 });
  const k2 = await createKey({ team: t2.id, rpm: 2 });
  const k3 = await createKey({ team: t2.id });
  assert.equal((await chat(k3.key, chatBody())).status, 200);
  assertLimited(await chat(k2.key, chatBody()), { limit: 'rpm', scope: `team:${t2.id}`, what: 'team rpm 1 used by a sibling' });

  // Team max_parallel across keys.
  const pteam = await createTeam({ max_parallel: 1 });
  const p1 = await createKey({ team: pteam.id });
  const p2 = await createKey({ team: pteam.id });
  const m = mark();
  const slow = chat(p1.key, chatBody({ user: m, fixture: { delay_ms: 1500 } }));
  await waitFor(() => hits(m).length === 1, 5000, { what: 'slow request in flight' });
  assertLimited(await chat(p2.key, chatBody()), { limit: 'parallel', scope: `team:${pteam.id}`, what: 'team max_parallel 1' });
  assert.equal((await slow).status, 200);
  assert.equal((await chat(p2.key, chatBody())).status, 200);
});

/**
 * Sends `body(i)` for i = 0.. through `secretOf(i)` until one is refused (or `max` were sent).
 * Returns {admitted, refused, spent, bodies}.
 */
async function spendUntilRefused(secretOf, body, max = 30) {
  let spent = 0;
  for (let i = 0; i < max; i++) {
    const b = body(i);
    const r = await chat(secretOf(i), b);
    if (r.status !== 200) return { admitted: i, refused: r, spent };
    spent += costUsd(PRICE, { input: r.json.usage.prompt_tokens, output: r.json.usage.completion_tokens });
  }
  return { admitted: max, refused: null, spent };
}

test('budget: spend + the reservation (body bytes/4 + max_tokens at the first deployment\'s price) must fit; else 429 budget_exceeded', { timeout: 30_000 }, async () => {
  const msgs = [{ role: 'user', content: 'hi' }];
  const c = fixtureChatCost(msgs); // 1 prompt token + 3 completion tokens = $0.007
  const bodyOf = (max_tokens) => ({ model: 'gpt-test', messages: msgs, max_tokens, user: mark() });
  const r = reservationUsd(bodyOf(200)); // ~27 input + 200 output tokens = ~$0.427
  const budget = 4 * c + r + c / 2; // admits exactly 5 (k*c + r <= budget for k = 0..4)
  const key = await createKey({ budget: { amount: Number(budget.toFixed(9)), currency: 'USD', period: 'daily' } });

  // A reservation alone over the budget is refused at once, with nothing spent.
  const huge = await chat(key.key, bodyOf(100000));
  assertLimited(huge, { code: 'budget_exceeded', limit: 'budget', scope: `key:${key.id}`, maxRetryS: 86400, what: 'max_tokens 100000' });
  assert.equal(errorOf(huge.json).type, 'insufficient_quota');

  const run = await spendUntilRefused(() => key.key, () => bodyOf(200));
  assert.equal(run.admitted, 5, `expected 5 requests within a budget of ${budget} (cost ${c}, reservation ${r}); spent ${run.spent}`);
  assertLimited(run.refused, { code: 'budget_exceeded', limit: 'budget', scope: `key:${key.id}`, maxRetryS: 86400, what: '6th request' });
  // What is left (r - c/2) still fits a request that reserves less.
  const small = bodyOf(1);
  assert.ok(5 * c + reservationUsd(small) <= budget);
  const fits = await chat(key.key, small);
  assert.equal(fits.status, 200, `a smaller reservation still fits: ${fits.text}`);
  assertLimited(await chat(key.key, bodyOf(200)), { code: 'budget_exceeded', limit: 'budget', maxRetryS: 86400, what: 'after the small one' });

  // The usage records: 6 successes at cost c, 3 refusals as errors.
  const u = await waitForUsage(admin, `key=${key.id}`, (j) => sumRows(j.data, 'requests') === 9);
  assert.equal(u.data.length, 1, JSON.stringify(u));
  assert.equal(u.data[0].errors, 3);
  assert.ok(Math.abs(u.data[0].cost_usd - 6 * c) < EPS, `cost_usd ${u.data[0].cost_usd} != ${6 * c}`);
  assert.equal(u.data[0].input_tokens, 6 * fixturePromptTokens(msgs));
  assert.equal(u.data[0].output_tokens, 6 * 3);
});

test('budget: reservations of requests in flight count: a concurrent request is refused while the first holds its reservation', { timeout: 30_000 }, async () => {
  const m = mark();
  const slowBody = chatBody({ user: m, max_tokens: 100, fixture: { delay_ms: 1500 } });
  const fastBody = chatBody({ user: m, max_tokens: 100, fixture: { delay_ms: 1 } });
  const rs = reservationUsd(slowBody);
  const rf = reservationUsd(fastBody);
  const c = fixtureChatCost(slowBody.messages);
  const budget = Math.max(rs, rf) * 1.5; // one reservation fits, two do not; after one is spent another fits
  assert.ok(rs + rf > budget && c + rf <= budget);
  const key = await createKey({ budget: { amount: Number(budget.toFixed(9)), currency: 'USD', period: 'monthly' } });
  const slow = chat(key.key, slowBody);
  await waitFor(() => hits(m).length === 1, 5000, { what: 'slow request in flight' });
  assertLimited(await chat(key.key, fastBody), { code: 'budget_exceeded', limit: 'budget', scope: `key:${key.id}`, maxRetryS: 32 * 86400, what: 'second while the first is in flight' });
  assert.equal((await slow).status, 200);
  const next = await chat(key.key, fastBody);
  assert.equal(next.status, 200, `the reservation was released against the real cost: ${next.text}`);
});

test('budget: a team budget (in KRW at pricing.krw_per_usd) applies across the team\'s keys', { timeout: 30_000 }, async () => {
  const msgs = [{ role: 'user', content: 'hi' }];
  const c = fixtureChatCost(msgs);
  const bodyOf = () => ({ model: 'gpt-test', messages: msgs, max_tokens: 200, user: mark() });
  const r = reservationUsd(bodyOf());
  const budgetUsd = 4 * c + r + c / 2; // exactly 5 requests
  const team = await createTeam({ budget: { amount: Number((budgetUsd * KRW_PER_USD).toFixed(6)), currency: 'KRW', period: 'monthly' } });
  const a = await createKey({ team: team.id });
  const b = await createKey({ team: team.id });
  const outsider = await createKey({});
  const run = await spendUntilRefused((i) => (i % 2 ? b.key : a.key), bodyOf);
  assert.equal(run.admitted, 5, `5 requests fit a team budget of ${budgetUsd} USD; spent ${run.spent}`);
  assertLimited(run.refused, { code: 'budget_exceeded', limit: 'budget', scope: `team:${team.id}`, maxRetryS: 32 * 86400, what: 'team budget, key b' });
  assertLimited(await chat(a.key, bodyOf()), { code: 'budget_exceeded', limit: 'budget', scope: `team:${team.id}`, maxRetryS: 32 * 86400, what: 'team budget, key a' });
  assert.equal((await chat(outsider.key, bodyOf())).status, 200);

  const u = await waitForUsage(admin, `team=${team.id}&group_by=team,key`, (j) => sumRows(j.data, 'requests') === 7);
  assert.equal(u.data.length, 2, JSON.stringify(u));
  for (const row of u.data) assert.equal(row.team, team.id);
  const ra = u.data.find((x) => x.key === a.id);
  const rb = u.data.find((x) => x.key === b.id);
  assert.deepEqual([ra.requests, ra.errors, rb.requests, rb.errors], [4, 1, 3, 1], JSON.stringify(u));
  assert.ok(Math.abs(sumRows(u.data, 'cost_usd') - 5 * c) < EPS);
});

// ---------------------------------------------------------------------------------------------
// guard overrides

test('guard: a key (or its team) with guard pii block gets 400 pii_blocked on a model whose own policy allows; others pass', { timeout: 30_000 }, async () => {
  const text = `제 주민번호는 ${RRN} 입니다`;
  const plain = await createKey({});
  const blocking = await createKey({ guard: { pii: { action: 'block' } } });
  const rrnOnly = await createKey({ guard: { pii: { types: { KR_RRN: 'block' } } } });
  const team = await createTeam({ guard: { pii: { action: 'block' } } });
  const member = await createKey({ team: team.id });
  const msgBody = (m) => ({ model: 'gpt-test', messages: [{ role: 'user', content: text }], user: m });

  const m1 = mark();
  const passed = await chat(plain.key, msgBody(m1));
  assert.equal(passed.status, 200, passed.text);
  assert.equal(hits(m1).length, 1);
  assert.ok(JSON.stringify(hits(m1)[0].body).includes(RRN), 'without an override the model\'s allow policy forwards the RRN');
  const m0 = mark();
  assert.equal((await chat(MASTER, msgBody(m0))).status, 200);

  for (const [k, what] of [[blocking, 'key action block'], [rrnOnly, 'key types KR_RRN block'], [member, 'team action block']]) {
    const m = mark();
    const r = await chat(k.key, msgBody(m));
    const err = assertError(r, 400, 'pii_blocked', what);
    assert.match(err.message, /KR_RRN/);
    assert.ok(!r.text.includes(RRN), 'the block answer does not echo the RRN');
    assert.equal(hits(m).length, 0, `${what}: nothing reached the upstream`);
    // Text without PII still passes for the same key.
    const clean = await chat(k.key, chatBody());
    assert.equal(clean.status, 200, `${what}: clean text passes: ${clean.text}`);
  }
  // Streams are scanned too.
  assertError(await chat(blocking.key, { ...msgBody(mark()), stream: true }), 400, 'pii_blocked', 'stream with a blocking key');

  // A blocked request gives back its parallel slot and its budget reservation.
  const strict = await createKey({ max_parallel: 1, budget: { amount: Number((1.5 * reservationUsd(msgBody(mark()))).toFixed(9)), currency: 'USD', period: 'daily' }, guard: { pii: { action: 'block' } } });
  for (let i = 0; i < 3; i++) assertError(await chat(strict.key, msgBody(mark())), 400, 'pii_blocked', `blocked #${i}`);
  const clean = await chat(strict.key, { model: 'gpt-test', messages: [{ role: 'user', content: 'nothing personal here' }], user: mark() });
  assert.equal(clean.status, 200, `blocked requests left no slot or reservation behind: ${clean.text}`);
});

// ---------------------------------------------------------------------------------------------
// usage

test('usage: one record per model request with the fixture\'s exact tokens and costs; group_by, filters, CSV', { timeout: 60_000 }, async () => {
  const team = await createTeam({ name: 'usage-team' });
  const key = await createKey({ team: team.id, name: 'usage-key' });
  const client = openaiClient(baton.url, { apiKey: key.key });
  const dayBefore = utcDay();
  const expect = []; // {model, input, cached, output, cost, error}

  // non-stream chat (4 chunks), and one with two messages
  const m1 = [{ role: 'user', content: 'count the words in this sentence please' }];
  const a = await client.chat.completions.create({ model: 'gpt-test', messages: m1, fixture: { chunks: 4 } });
  assert.equal(a.usage.prompt_tokens, fixturePromptTokens(m1));
  expect.push({ model: 'gpt-test', input: a.usage.prompt_tokens, output: a.usage.completion_tokens });
  const m2 = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'two messages here' }];
  const b = await client.chat.completions.create({ model: 'gpt-test', messages: m2 });
  expect.push({ model: 'gpt-test', input: b.usage.prompt_tokens, output: b.usage.completion_tokens });
  // stream without include_usage (baton asks the upstream for usage anyway)
  const m3 = [{ role: 'user', content: 'stream me five chunks' }];
  const s1 = await collectStream(await client.chat.completions.create({ model: 'gpt-test', messages: m3, stream: true, fixture: { chunks: 5 } }));
  assert.equal(s1.error, null, String(s1.error));
  assert.equal(s1.chunks.filter((ch) => ch.usage).length, 0);
  expect.push({ model: 'gpt-test', input: fixturePromptTokens(m3), output: 5 });
  // stream with include_usage
  const m4 = [{ role: 'user', content: 'stream with usage' }];
  const s2 = await collectStream(await client.chat.completions.create({ model: 'gpt-test', messages: m4, stream: true, stream_options: { include_usage: true }, fixture: { chunks: 2 } }));
  const s2usage = s2.chunks.find((ch) => ch.usage)?.usage;
  assert.ok(s2usage, 'usage chunk');
  assert.equal(s2usage.completion_tokens, 2);
  expect.push({ model: 'gpt-test', input: s2usage.prompt_tokens, output: s2usage.completion_tokens });
  // embeddings
  const e = await client.embeddings.create({ model: 'embed-test', input: ['alpha beta gamma', 'delta'] });
  assert.equal(e.usage.prompt_tokens, fixturePromptTokens(['alpha beta gamma', 'delta']));
  expect.push({ model: 'embed-test', input: e.usage.prompt_tokens, output: 0 });
  // an upstream failure
  const failed = await chat(key.key, chatBody({ fixture: { status: 500 } }));
  assert.ok(failed.status >= 500, failed.text);
  expect.push({ model: 'gpt-test', input: 0, output: 0, error: true });
  // cached prompt tokens, priced at cached_input_per_mtok
  const cached = await client.chat.completions.create({ model: 'cached-model', messages: [{ role: 'user', content: 'x' }], fixture: { prompt_tokens: 10, cached_tokens: 4, chunks: 2 } });
  assert.equal(cached.usage.prompt_tokens_details?.cached_tokens, 4);
  expect.push({ model: 'cached-model', input: 10, cached: 4, output: 2, price: CACHED_PRICE });
  // a cached-usage stream
  const s3 = await collectStream(await client.chat.completions.create({ model: 'cached-model', messages: [{ role: 'user', content: 'y' }], stream: true, fixture: { prompt_tokens: 7, cached_tokens: 5, chunks: 3 } }));
  assert.equal(s3.error, null, String(s3.error));
  expect.push({ model: 'cached-model', input: 7, cached: 5, output: 3, price: CACHED_PRICE });
  const dayAfter = utcDay();

  for (const x of expect) x.cost = x.error ? 0 : costUsd(x.price ?? PRICE, { input: x.input, cached: x.cached ?? 0, output: x.output });
  const total = (rows) => ({
    requests: rows.length, input_tokens: sumRows(rows, 'input'), cached_input_tokens: sumRows(rows, 'cached'),
    output_tokens: sumRows(rows, 'output'), errors: rows.filter((x) => x.error).length,
  });
  const checkRow = (row, rows, what) => {
    const t = total(rows);
    const { cost_usd: cost, key: _k, team: _t, model: _m, day: _d, ...counts } = row;
    assert.deepEqual(counts, t, `${what}: ${JSON.stringify(row)}`);
    const want = sumRows(rows, 'cost');
    assert.ok(Math.abs(cost - want) < EPS, `${what}: cost_usd ${cost} != ${want}`);
  };

  const all = await waitForUsage(admin, `key=${key.id}`, (j) => sumRows(j.data, 'requests') >= expect.length);
  assert.equal(all.object, 'list');
  assert.deepEqual(all.group_by, []);
  assert.equal(all.data.length, 1, JSON.stringify(all));
  checkRow(all.data[0], expect, 'key total');
  assert.equal(all.data[0].key, undefined, 'ungrouped rows carry no key');
  assert.ok(typeof all.from === 'number' || typeof all.from === 'string', JSON.stringify(all));
  assert.ok(all.to !== undefined);

  const byModel = await admin.get(`/admin/usage?key=${key.id}&group_by=model`);
  assert.equal(byModel.status, 200, byModel.text);
  assert.deepEqual(byModel.json.group_by, ['model']);
  assert.deepEqual(byModel.json.data.map((x) => x.model).sort(), ['cached-model', 'embed-test', 'gpt-test']);
  for (const row of byModel.json.data) checkRow(row, expect.filter((x) => x.model === row.model), `model ${row.model}`);

  const full = await admin.get(`/admin/usage?key=${key.id}&group_by=key,team,model,day&from=${utcDay(-1)}&to=${utcDay(1)}`);
  assert.equal(full.status, 200, full.text);
  assert.deepEqual([...full.json.group_by].sort(), ['day', 'key', 'model', 'team']);
  assert.equal(sumRows(full.json.data, 'requests'), expect.length);
  for (const row of full.json.data) {
    assert.equal(row.key, key.id);
    assert.equal(row.team, team.id);
    assert.ok([dayBefore, dayAfter].includes(row.day), `day ${row.day}`);
  }
  if (dayBefore === dayAfter) {
    for (const row of full.json.data) checkRow(row, expect.filter((x) => x.model === row.model), `full grouping ${row.model}`);
  }

  const byTeam = await admin.get(`/admin/usage?team=${team.id}&group_by=team`);
  assert.equal(byTeam.status, 200, byTeam.text);
  assert.equal(byTeam.json.data.length, 1);
  assert.equal(byTeam.json.data[0].team, team.id);
  checkRow(byTeam.json.data[0], expect, 'team total');

  const oneModel = await admin.get(`/admin/usage?key=${key.id}&model=embed-test`);
  checkRow(oneModel.json.data[0], expect.filter((x) => x.model === 'embed-test'), 'model filter');
  const future = await admin.get(`/admin/usage?key=${key.id}&from=${utcDay(2)}&to=${utcDay(3)}`);
  assert.equal(future.status, 200, future.text);
  assert.equal(sumRows(future.json.data, 'requests'), 0, 'a range with no records');
  const nobody = await admin.get('/admin/usage?key=key_0000000000000000&group_by=key');
  assert.deepEqual(nobody.json.data, []);

  // CSV: a header row, then the same numbers as JSON.
  const csv = await admin.get(`/admin/usage?key=${key.id}&group_by=key,model&format=csv`);
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = csv.text.split(/\r?\n/).filter(Boolean);
  assert.equal(lines[0], 'key,model,requests,input_tokens,cached_input_tokens,output_tokens,cost_usd,errors');
  assert.equal(lines.length, 4, csv.text);
  for (const line of lines.slice(1)) {
    const [k, model, requests, input, cachedIn, output, cost, errors] = line.split(',');
    assert.equal(k, key.id);
    const row = { requests: Number(requests), input_tokens: Number(input), cached_input_tokens: Number(cachedIn),
      output_tokens: Number(output), cost_usd: Number(cost), errors: Number(errors) };
    checkRow(row, expect.filter((x) => x.model === model), `csv ${model}`);
  }
});

test('usage: 429 and 4xx answers are recorded as errors without tokens; 401s leave no record', { timeout: 30_000 }, async () => {
  const limited = await createKey({ rpm: 1 });
  assert.equal((await chat(limited.key, chatBody())).status, 200);
  assertLimited(await chat(limited.key, chatBody()), { limit: 'rpm' });
  assertLimited(await post('/v1/embeddings', limited.key, { model: 'embed-test', input: 'x' }), { limit: 'rpm' });
  const u = await waitForUsage(admin, `key=${limited.id}&group_by=model`, (j) => sumRows(j.data, 'requests') === 3);
  const gpt = u.data.find((x) => x.model === 'gpt-test');
  const emb = u.data.find((x) => x.model === 'embed-test');
  assert.deepEqual([gpt?.requests, gpt?.errors, emb?.requests, emb?.errors, emb?.input_tokens, emb?.cost_usd], [2, 1, 1, 1, 0, 0], JSON.stringify(u));
  assert.equal(gpt.input_tokens, fixturePromptTokens(chatBody().messages));

  const blocker = await createKey({ guard: { pii: { action: 'block' } } });
  assertError(await chat(blocker.key, { model: 'gpt-test', messages: [{ role: 'user', content: `RRN ${RRN}` }] }), 400, 'pii_blocked');
  const ub = await waitForUsage(admin, `key=${blocker.id}`, (j) => sumRows(j.data, 'requests') === 1);
  assert.deepEqual([ub.data[0].errors, ub.data[0].input_tokens, ub.data[0].output_tokens], [1, 0, 0]);

  // Unauthenticated requests have no key to charge: they leave no record at all.
  const before = await settledTotalRequests();
  await chat(undefined, chatBody());
  await chat(`sk-baton-${'Z'.repeat(43)}`, chatBody());
  await chat(MASTER, chatBody());
  await waitFor(async () => (await settledTotalRequests()) >= before + 1, 5000, { what: 'the master request recorded' });
  assert.equal(await settledTotalRequests(), before + 1, 'only the authenticated request left a record');
});

test('usage: a 403 permission_denied request is recorded as an error for its key', { timeout: 30_000 }, async () => {
  const key = await createKey({ models: ['gpt-test'] });
  assertError(await post('/v1/embeddings', key.key, { model: 'embed-test', input: 'x' }), 403, 'permission_denied');
  assert.equal((await chat(key.key, chatBody())).status, 200);
  // The 200 is written after the 403 (one queue, in order): once it is there, so is the 403's record.
  await waitForUsage(admin, `key=${key.id}&model=gpt-test`, (j) => sumRows(j.data, 'requests') === 1);
  const u = await admin.get(`/admin/usage?key=${key.id}&group_by=model`);
  const emb = u.json.data.find((x) => x.model === 'embed-test');
  assert.deepEqual([emb?.requests, emb?.errors], [1, 1], `the 403 leaves one error record: ${u.text}`);
});

test('usage: bad query parameters are 400 invalid_field; the endpoint needs the master key', { timeout: 30_000 }, async () => {
  for (const [q, name] of [['from=2024-13-01', 'from'], ['from=2024-02-30', 'from'], ['to=yesterday', 'to'], ['from=2024-1-1', 'from'],
    ['group_by=key,colour', 'group_by'], ['format=xml', 'format'], ['bogus=1', 'bogus'],
    ['from=2024-05-02&to=2024-05-01', 'to'], ['key=%zz', 'query']]) {
    const r = await admin.get(`/admin/usage?${q}`);
    const err = assertError(r, 400, 'invalid_field', `/admin/usage?${q}`);
    assert.ok(err.message.includes(name), `the message must name ${name}: ${err.message}`);
  }
  const ok = await admin.get('/admin/usage?from=2024-05-01&to=2024-05-01&group_by=day&format=json');
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.data, []);
  assertError(await admin.get('/admin/usage', { auth: null }), 401, 'invalid_api_key', 'no auth');
});

// ---------------------------------------------------------------------------------------------
// the `baton keys` CLI against the running server's store

test('CLI: baton keys create / list / revoke on the running server\'s store (picked up within ~1 s)', { timeout: 60_000 }, async () => {
  const cfg = baton.configPath;
  const created = await runBaton(['keys', 'create', '--config', cfg, '--name', 'cli-key', '--models', 'gpt-test,embed-test',
    '--rpm', '50', '--tpm', '100000', '--max-parallel', '4', '--budget', '5000', '--currency', 'KRW', '--period', 'weekly',
    '--expires-in', '30d', '--fail-mode', 'closed']);
  assert.equal(created.code, 0, created.stderr);
  const key = JSON.parse(created.stdout);
  secrets.push(key.key);
  assert.match(key.key, /^sk-baton-[0-9A-Za-z]{43}$/);
  assert.match(key.id, /^key_[0-9a-f]{16}$/);
  assert.equal(key.name, 'cli-key');
  assert.deepEqual(key.models, ['gpt-test', 'embed-test']);
  assert.deepEqual([key.rpm, key.tpm, key.max_parallel, key.fail_mode], [50, 100000, 4, 'closed']);
  assert.deepEqual(key.budget, { amount: 5000, currency: 'KRW', period: 'weekly' });
  assert.ok(Math.abs(key.expires_at - (Date.now() / 1000 + 30 * 86400)) < 60, created.stdout);

  const listed = await waitFor(async () => {
    const r = await models(key.key);
    return r.status === 200 ? r : null;
  }, 1500, { what: 'the server accepts the CLI-created key', intervalMs: 25 });
  assert.deepEqual(listed.json.data.map((d) => d.id), ['gpt-test', 'embed-test']);
  assert.equal((await chat(key.key, chatBody())).status, 200);
  const viaAdmin = await admin.get(`/admin/keys/${key.id}`);
  assert.equal(viaAdmin.status, 200, viaAdmin.text);
  assert.equal(viaAdmin.json.name, 'cli-key');

  const list = await runBaton(['keys', 'list', '--config', cfg]);
  assert.equal(list.code, 0, list.stderr);
  const entry = JSON.parse(list.stdout).data.find((d) => d.id === key.id);
  assert.ok(entry, list.stdout);
  assert.equal(entry.revoked, false);
  for (const s of secrets.filter((x) => x.startsWith('sk-baton-'))) {
    assert.ok(!list.stdout.includes(s) && !list.stdout.includes(sha256Hex(s)), 'keys list never prints a secret or hash');
  }

  const revoked = await runBaton(['keys', 'revoke', '--config', cfg, key.id]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(JSON.parse(revoked.stdout).revoked, true);
  const refused = await waitFor(async () => {
    const r = await chat(key.key, chatBody());
    return r.status === 401 ? r : null;
  }, 1500, { what: 'the server refuses the CLI-revoked key', intervalMs: 25 });
  assert.match(errorOf(refused.json).message, /revoked/);
  const list2 = JSON.parse((await runBaton(['keys', 'list', '--config', cfg])).stdout);
  assert.equal(list2.data.find((d) => d.id === key.id).revoked, true);
  const again = await runBaton(['keys', 'revoke', '--config', cfg, key.id]);
  assert.equal(again.code, 1, `revoking twice fails: ${again.stdout} ${again.stderr}`);

  // Admin-created keys show up in the CLI's list, and bad options are refused without creating anything.
  const adminKey = await createKey({ name: 'seen-by-cli' });
  assert.ok(JSON.parse((await runBaton(['keys', 'list', '--config', cfg])).stdout).data.some((d) => d.id === adminKey.id));
  const countBefore = JSON.parse((await runBaton(['keys', 'list', '--config', cfg])).stdout).data.length;
  for (const [args, word] of [[['--fail-mode', 'maybe'], 'fail_mode'], [['--team', 'no-such-team'], 'team'],
    [['--expires-in', '3y'], 'expires_in'], [['--budget', '5', '--currency', 'EUR'], 'currency']]) {
    const r = await runBaton(['keys', 'create', '--config', cfg, ...args]);
    assert.notEqual(r.code, 0, `keys create ${args.join(' ')} must fail: ${r.stdout}`);
    assert.ok(r.stderr.includes(word), `stderr names ${word}: ${r.stderr}`);
    assert.ok(!/sk-baton-/.test(r.stdout), 'no key printed');
  }
  const countAfter = JSON.parse((await runBaton(['keys', 'list', '--config', cfg])).stdout).data.length;
  assert.equal(countAfter, countBefore);

  // A team created over the admin API is usable from the CLI.
  const team = await createTeam({ rpm: 1 });
  const inTeam = await runBaton(['keys', 'create', '--config', cfg, '--team', team.id]);
  assert.equal(inTeam.code, 0, inTeam.stderr);
  const teamKey = JSON.parse(inTeam.stdout);
  secrets.push(teamKey.key);
  assert.equal(teamKey.team, team.id);
  await waitFor(async () => (await models(teamKey.key)).status === 200, 1500, { what: 'team key accepted' });
  assert.equal((await chat(teamKey.key, chatBody())).status, 200);
  assertLimited(await chat(teamKey.key, chatBody()), { limit: 'rpm', scope: `team:${team.id}` });
});

// ---------------------------------------------------------------------------------------------
// open dev mode

describe('open dev mode (no master key, no keys)', () => {
  let open;
  let openAdmin;
  before(async () => {
    open = await startBaton(govConfig({ masterKey: null }));
    allBatons.push(open);
    openAdmin = adminClient(open.url);
  });
  afterEach(() => open?.assertAlive());
  after(() => open?.stop());

  test('everything is open until the first key exists; then /v1/* needs a key (admin stays open without a master key)', { timeout: 30_000 }, async () => {
    const listed = await models(undefined, open);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.data.length, MODEL_NAMES.length + 1);
    const client = openaiClient(open.url, { apiKey: 'anything-goes' });
    assert.equal((await client.chat.completions.create(chatBody())).object, 'chat.completion');
    const noAuth = await post('/v1/embeddings', undefined, { model: 'embed-test', input: 'x' }, { base: open });
    assert.equal(noAuth.status, 200, noAuth.text);
    assert.equal((await openAdmin.get('/admin/keys')).status, 200);

    const key = await createKey({ name: 'first' }, { a: openAdmin, b: open });
    const closed = await waitFor(async () => {
      const r = await models(undefined, open);
      return r.status === 401 ? r : null;
    }, 1000, { what: 'open mode ends with the first key' });
    assert.match(errorOf(closed.json).message, /no API key/i);
    assertError(await post('/v1/chat/completions', undefined, chatBody(), { base: open }), 401, 'invalid_api_key', 'chat without a key');
    assertError(await post('/v1/chat/completions', 'anything-goes', chatBody(), { base: open }), 401, 'invalid_api_key', 'chat with a made-up key');
    assert.equal((await post('/v1/chat/completions', key.key, chatBody(), { base: open })).status, 200);
    assert.equal((await models(key.key, open)).status, 200);
    assert.equal((await openAdmin.get('/admin/keys')).status, 200, 'admin is open without a master key');

    // Open-mode requests were recorded without a key; the key's own request with it.
    const u = await waitForUsage(openAdmin, 'group_by=key', (j) => sumRows(j.data, 'requests') === 3);
    const anon = u.data.find((x) => x.key === undefined);
    const mine = u.data.find((x) => x.key === key.id);
    assert.deepEqual([anon?.requests, mine?.requests], [2, 1], JSON.stringify(u));

    // Revoking the only key does not reopen the gateway.
    assert.equal((await openAdmin.del(`/admin/keys/${key.id}`)).status, 200);
    await waitFor(async () => (await models(key.key, open)).status === 401, 1000, { what: 'revoked' });
    assertError(await models(undefined, open), 401, 'invalid_api_key', 'after the only key was revoked');
  });
});

// ---------------------------------------------------------------------------------------------
// SIGTERM flushes queued usage; a restart keeps keys, usage and budget spend

describe('SIGTERM flushes queued usage records; the restarted process keeps keys, usage and budgets', () => {
  let dir;
  let storeUrl;
  const started = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-gov-flush-'));
    storeUrl = `sqlite://${path.join(dir, 'flush.db')}`;
  });
  after(async () => {
    for (const b of started) await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const N = 6;
  const msgs = [{ role: 'user', content: 'flush me' }];
  const expected = { requests: N, input: 0, output: 0, cost: 0 };
  let key;
  let budget;
  let bodies;

  test('with usage_flush_ms 60000 nothing is written before SIGTERM; SIGTERM writes all N and exits 0', { timeout: 60_000 }, async () => {
    const first = await startBaton(govConfig({ storage: { url: storeUrl, usage_flush_ms: 60000 } }));
    started.push(first);
    allBatons.push(first);
    const a = adminClient(first.url, MASTER);
    bodies = Array.from({ length: N }, (_, i) => ({ model: 'gpt-test', messages: msgs, max_tokens: 50, user: mark(), ...(i % 2 ? { stream: true, stream_options: { include_usage: true } } : {}) }));
    const c = fixtureChatCost(msgs);
    const rmax = Math.max(...bodies.map(reservationUsd));
    // Room for the N requests even if one reservation were still held; the test after the
    // restart sends a request that fits this budget alone but not on top of the N requests' spend.
    budget = (N - 1) * c + 2 * rmax + c / 2;
    key = await createKey({ budget: { amount: Number(budget.toFixed(9)), currency: 'USD', period: 'monthly' } }, { a, b: first });
    const client = openaiClient(first.url, { apiKey: key.key });
    for (const body of bodies) {
      let usage;
      if (body.stream) {
        const s = await collectStream(await client.chat.completions.create(body));
        assert.equal(s.error, null, String(s.error));
        usage = s.chunks.find((ch) => ch.usage).usage;
      } else {
        try {
          usage = (await client.chat.completions.create(body)).usage;
        } catch (e) {
          throw new Error(`request ${bodies.indexOf(body)} of ${N}: ${e.message}; spent ${expected.cost}, budget ${budget}, reservations ${bodies.map(reservationUsd)}`);
        }
      }
      expected.input += usage.prompt_tokens;
      expected.output += usage.completion_tokens;
      expected.cost += costUsd(PRICE, { input: usage.prompt_tokens, output: usage.completion_tokens });
    }
    assert.equal(await usagePending(first), N, 'all N records are still queued');
    const early = await a.get(`/admin/usage?key=${key.id}`);
    assert.equal(early.status, 200, early.text);
    assert.equal(sumRows(early.json.data, 'requests'), 0, `nothing written before shutdown: ${early.text}`);

    const code = await first.stop('SIGTERM');
    assert.equal(code, 0, `exit after SIGTERM\n${first.stderr().slice(-2000)}`);
    assert.match(first.stderr(), new RegExp(`usage: ${N} record\\(s\\) written, 0 dropped`));
  });

  test('a new baton on the same SQLite file reports all N records with exact tokens and cost', { timeout: 60_000 }, async () => {
    assert.ok(key, 'the previous test created the key');
    const second = await startBaton(govConfig({ storage: { url: storeUrl } }));
    started.push(second);
    allBatons.push(second);
    const a = adminClient(second.url, MASTER);
    const u = await a.get(`/admin/usage?key=${key.id}&group_by=key,model`);
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.data.length, 1, u.text);
    const row = u.json.data[0];
    assert.deepEqual([row.key, row.model, row.requests, row.input_tokens, row.output_tokens, row.errors],
      [key.id, 'gpt-test', N, expected.input, expected.output, 0], u.text);
    assert.ok(Math.abs(row.cost_usd - expected.cost) < EPS, `cost ${row.cost_usd} != ${expected.cost}`);

    // The key survived the restart, and so did its spend: one more request no longer fits the budget.
    assert.equal((await models(key.key, second)).status, 200);
    // A request whose reservation alone fits the budget, but not on top of what was spent.
    const c = fixtureChatCost(msgs);
    const user = mark();
    let maxTokens = 1;
    const overBody = () => ({ model: 'gpt-test', messages: msgs, max_tokens: maxTokens, user });
    while (reservationUsd(overBody()) <= budget - expected.cost + c / 4) maxTokens += 1;
    const body = overBody();
    const reserve = reservationUsd(body);
    assert.ok(reserve < budget && expected.cost + reserve > budget, `reservation ${reserve}, spent ${expected.cost}, budget ${budget}`);
    const over = await post('/v1/chat/completions', key.key, body, { base: second });
    assertLimited(over, { code: 'budget_exceeded', limit: 'budget', scope: `key:${key.id}`, maxRetryS: 32 * 86400,
      what: `spent ${expected.cost} of ${budget} before the restart, reservation ${reserve}` });
    // Without the spend it would have fitted: a fresh key with the same budget takes the same request.
    const fresh = await createKey({ budget: { amount: Number(budget.toFixed(9)), currency: 'USD', period: 'monthly' } }, { a, b: second });
    const ok = await post('/v1/chat/completions', fresh.key, { ...body, user: mark() }, { base: second });
    assert.equal(ok.status, 200, ok.text);
  });
});

// ---------------------------------------------------------------------------------------------
// baton config check: storage and pricing settings

describe('baton config check: storage and pricing', () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-gov-check-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const BASE = [
    'server:',
    '  listen: "127.0.0.1:0"',
    'providers:',
    '  fx:',
    '    kind: openai',
    '    base_url: "http://127.0.0.1:1/v1"',
    'models:',
    '  - name: m',
    '    deployments:',
    '      - provider: fx',
    '        model: x',
    '        price: {input_per_mtok: 1, output_per_mtok: 2}',
  ];
  let n = 0;
  async function check(extraLines) {
    const file = path.join(dir, `check-${++n}.yaml`);
    fs.writeFileSync(file, `${[...BASE, ...extraLines].join('\n')}\n`);
    return { file, ...(await runBaton(['config', 'check', '--config', file])) };
  }
  const lineOf = (index) => BASE.length + index + 1; // 1-based line of extra line `index`

  test('good storage and pricing settings pass', { timeout: 30_000 }, async () => {
    const r = await check(['storage:', `  url: "sqlite://${path.join(dir, 'x.db')}"`, '  fail_mode: closed', '  usage_flush_ms: 500',
      '  keys_refresh_ms: 100', '  usage_batch: 100', 'pricing:', '  krw_per_usd: 1350', '  models:',
      '    some-upstream-id: {input_per_mtok: 1, output_per_mtok: 3}']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /: ok \(/);
  });

  for (const [what, lines, badIndex, key, reason] of [
    ['storage.fail_mode: maybe', ['storage:', '  fail_mode: maybe'], 1, 'storage.fail_mode', /open or closed/],
    ['storage.url mysql://', ['storage:', '  url: "mysql://x"'], 1, 'storage.url', /scheme/],
    ['an unknown key under storage', ['storage:', '  url: "sqlite::memory:"', '  bogus: 1'], 2, 'storage.bogus', /unknown key/],
    ['storage.usage_flush_ms: 0', ['storage:', '  usage_flush_ms: 0'], 1, 'storage.usage_flush_ms', /between/],
    ['storage.redis not a redis URL', ['storage:', '  redis: "http://x"'], 1, 'storage.redis', /redis:\/\//],
    ['pricing.krw_per_usd: 0', ['pricing:', '  krw_per_usd: 0'], 1, 'pricing.krw_per_usd', /greater than 0/],
    ['an unknown key under pricing', ['pricing:', '  euro_per_usd: 1'], 1, 'pricing.euro_per_usd', /unknown key/],
  ]) {
    test(`rejects ${what} with file:line: key`, { timeout: 30_000 }, async () => {
      const line = lineOf(badIndex);
      const r = await check(lines);
      assert.equal(r.code, 1, `exit 1 expected: ${r.stdout} ${r.stderr}`);
      const problem = r.stdout.split('\n').find((l) => l.includes(`${key}:`));
      assert.ok(problem, `stdout names ${key}: ${r.stdout}`);
      assert.ok(problem.startsWith(`${r.file}:${line}: ${key}: `), `expected ${r.file}:${line}: ${key}: …, got ${problem}`);
      if (reason) assert.match(problem, reason);
      assert.match(r.stdout, /problem\(s\) found/);
    });
  }
});

// ---------------------------------------------------------------------------------------------

test('no secret (virtual keys, the master key, presented tokens) appears in any baton log', { timeout: 30_000 }, async () => {
  assert.ok(allBatons.length >= 4, 'the log check covers every baton of this file');
  const created = secrets.filter((s) => s.startsWith('sk-baton-'));
  assert.ok(created.length >= 30, `the file created many keys (${created.length})`);
  for (const b of allBatons) {
    const logs = `${b.stdout()}\n${b.stderr()}`;
    assert.match(logs, /\/v1\/chat\/completions/, 'the access log is captured (on stdout)');
    for (const s of secrets) {
      assert.ok(!logs.includes(s), `secret ${s.slice(0, 12)}… appears in baton's log`);
      assert.ok(!logs.includes(sha256Hex(s)), `the hash of ${s.slice(0, 12)}… appears in baton's log`);
    }
  }
});
