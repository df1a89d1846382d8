// The sovereignty guard end to end, through the real baton binary and the official openai SDK:
// pin (residency routing, zero leaks over the labelled corpus), block (per type, every text the
// upstream would read), redact (placeholders upstream, the user's values restored in JSON answers
// and in streams, placeholders split across SSE chunks), the access log's pii fields and the
// Prometheus counters.
//
// Providers are the fixture upstream behind `tag=NAME` knob prefixes, so the path the fixture
// recorded tells which provider a request reached; the x-request-id the test sets is forwarded
// upstream, which ties every fixture record to the client request that caused it.
//
// The test marked `todo` pins down a known gap (it runs and reports, but does not fail the suite):
// streamed tool-call arguments are not restored (docs/GUARD.md). Drop the `todo` once fixed.
//
//   BATON_BIN=build/baton node --test tests/integration/guard_e2e.test.mjs
//   GUARD_E2E_SAMPLE=600 ...   send a deterministic sample (every type covered) instead of all positives
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startFixture, contentPieces } from '../fixture/upstream.mjs';
import { startBaton } from './lib/baton.mjs';
import { standardConfig, UPSTREAM_KEY } from './lib/config.mjs';
import { openaiClient, rawRequest, collectStream, errorOf } from './lib/http.mjs';
import {
  loadCorpus, leakForms, findLeak, alignPlaceholders, restoreWith, pool, parseMetrics, metricKey,
  readAccessLog, waitForLogLines, startScriptedUpstream,
} from './lib/guard.mjs';

const UPSTREAM_MODEL = 'upstream-model-id';
const DEFAULT_CONTENT = contentPieces().join('');
const NEVER_TRIP = { consecutive_failures: 1000, failure_ratio: 0 };
const CONCURRENCY = 8;
const PIN_BUDGET_MS = 60_000;

// The redaction example: two different RRNs (the first repeated), an e-mail and a phone.
const RRN_A = '900101-1234568';
const RRN_B = '850505-1234561';
const EMAIL = 'kim@example.com';
const PHONE = '010-2345-6789';
const KOREAN = `제 번호는 ${RRN_A}, 형은 ${RRN_B}이고 다시 ${RRN_A}, 메일 ${EMAIL}, 전화 ${PHONE}`;
const VALUES = [RRN_A, RRN_B, EMAIL, PHONE];
const VALUE_FORMS = VALUES.flatMap((v) => leakForms(v));

let fx;
let scripted;
let baton;
let client;
let logDir;
let accessLog;
let corpus;

const dep = (provider) => ({ provider, model: UPSTREAM_MODEL });
const fxProvider = (tag, residency) => ({ kind: 'openai', base_url: fx.url({ tag }), api_key: UPSTREAM_KEY, ...(residency ? { residency } : {}) });

function guardConfig() {
  const providers = {
    pin_us: fxProvider('pin_us', 'us'),
    pin_kr: fxProvider('pin_kr', 'kr'),
    only_us: fxProvider('only_us', 'us'),
    blk: fxProvider('blk', 'us'),
    red: fxProvider('red', 'us'),
    red_s: fxProvider('red_s', 'us'),
    allblk: fxProvider('allblk', 'us'),
    audit_pin: fxProvider('audit_pin', 'kr'),
    scripted: { kind: 'openai', base_url: scripted.baseUrl, api_key: UPSTREAM_KEY, residency: 'us' },
    // pin with the only kr deployment switched off, and a fallback model on us
    down_us: fxProvider('down_us', 'us'),
    down_kr: { ...fxProvider('down_kr', 'kr'), enabled: false },
    fb_us: fxProvider('fb_us', 'us'),
    // pin + mid-stream continuation: the kr stream dies after 2 chunks, us is next in line
    cont_us: fxProvider('cont_us', 'us'),
    cont_kr: { kind: 'openai', base_url: fx.url({ tag: 'cont_kr', die_after: 2 }), api_key: UPSTREAM_KEY, residency: 'kr' },
    // redact + mid-stream continuation
    rc_die: { kind: 'openai', base_url: fx.url({ tag: 'rc_die', die_after: 2 }), api_key: UPSTREAM_KEY, residency: 'us' },
    rc_ok: fxProvider('rc_ok', 'us'),
    emb: fxProvider('emb', 'us'),
    pr_us: fxProvider('pr_us', 'us'),
    pr_kr: fxProvider('pr_kr', 'kr'),
  };
  const m = (name, deployments, pii, extra = {}) => ({
    name, strategy: 'priority', deployments: deployments.map(dep), breaker: NEVER_TRIP, retry: { max_attempts: 1 },
    ...(pii ? { guard: { pii } } : {}), ...extra,
  });
  const models = [
    // us first in priority: only a pin may move a request to kr.
    m('g-pin', ['pin_us', 'pin_kr'], { action: 'pin', allowed_residency: ['kr'] }, { retry: { max_attempts: 2 } }),
    m('g-pin-none', ['only_us'], { action: 'pin', allowed_residency: ['kr'] }),
    // The global default is block: this model lays `action: allow` over it and blocks only RRNs.
    m('g-block-rrn', ['blk'], { action: 'allow', types: { KR_RRN: 'block' } }),
    m('g-redact', ['red'], { action: 'redact' }),
    m('g-redact-stream', ['red_s'], { action: 'redact' }),
    m('g-redact-scripted', ['scripted'], { action: 'redact' }),
    // No guard block of its own: inherits the global `action: block`.
    m('g-block-all', ['allblk']),
    m('g-audit-pin', ['audit_pin'], { action: 'pin', allowed_residency: ['kr'] }),
    m('g-pin-down', ['down_us', 'down_kr'], { action: 'pin', allowed_residency: ['kr'] }, { fallbacks: ['g-fallback-us'] }),
    m('g-fallback-us', ['fb_us'], { action: 'allow' }),
    m('g-pin-cont', ['cont_us', 'cont_kr'], { action: 'pin', allowed_residency: ['kr'] }, { retry: { max_attempts: 3 } }),
    m('g-redact-cont', ['rc_die', 'rc_ok'], { action: 'redact' }, { retry: { max_attempts: 3 } }),
    // pin and redact combined: RRNs pin, phones and e-mails are replaced.
    m('g-pin-redact', ['pr_us', 'pr_kr'], { action: 'allow', allowed_residency: ['kr'], types: { KR_RRN: 'pin', KR_PHONE: 'redact', EMAIL: 'redact' } }),
    { name: 'g-embed-block', deployments: [{ provider: 'emb', model: 'upstream-embed-id' }], breaker: NEVER_TRIP, retry: { max_attempts: 1 } },
  ];
  const cfg = standardConfig(fx, { server: { access_log: accessLog }, providers, models });
  cfg.guard = { pii: { action: 'block' } };
  // The standard models keep forwarding everything.
  for (const model of cfg.models) if (!model.guard && !model.name.startsWith('g-')) model.guard = { pii: { action: 'allow' } };
  return cfg;
}

before(async () => {
  corpus = loadCorpus();
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-guard-e2e-'));
  accessLog = path.join(logDir, 'access.log');
  fx = await startFixture();
  scripted = await startScriptedUpstream();
  baton = await startBaton(guardConfig());
  client = openaiClient(baton.url, { maxRetries: 0 });
});
afterEach(() => baton?.assertAlive());
after(async () => {
  await baton?.stop();
  await fx?.close();
  await scripted?.close();
  if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

const tagOf = (rec) => rec.knobs?.tag;
const chatHits = (tag) => fx.requests.filter((r) => r.endpoint === 'chat/completions' && tagOf(r) === tag);
const byRequestId = (id) => fx.requests.filter((r) => r.headers['x-request-id'] === id);
const rawJson = (rec) => (typeof rec.body === 'string' ? rec.body : JSON.stringify(rec.body));
let seq = 0;
const rid = (prefix) => `${prefix}-${process.pid}-${++seq}`;

/** Raw POST /v1/chat/completions (full answer text visible): {status, headers, text, json}. */
function chat(body, requestId = rid('raw')) {
  return rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', body, headers: { 'x-request-id': requestId }, timeoutMs: 15_000 })
    .then((r) => ({ ...r, requestId }));
}

/** The indexes listed in a pii_blocked message for `type` ("KR_RRN in messages 0, 2"). */
function blockedIndexes(message, type) {
  const m = new RegExp(`${type} in messages? ([0-9]+(?:, [0-9]+)*)`).exec(message);
  return m ? m[1].split(', ').map(Number) : null;
}

function assertBlocked(r, { type, indexes, values = [], what = '' }) {
  const ctx = `${what}: ${r.status} ${r.text.slice(0, 400)}`;
  assert.equal(r.status, 400, ctx);
  const err = errorOf(r.json);
  assert.equal(err?.code, 'pii_blocked', ctx);
  assert.deepEqual(blockedIndexes(err.message, type), indexes, `message must list ${type} in messages ${indexes}: ${ctx}`);
  for (const v of values) {
    const leak = findLeak(r.text, leakForms(v, 4));
    assert.equal(leak, null, `the block answer leaks ${JSON.stringify(leak)}: ${ctx}`);
  }
  assert.doesNotMatch(r.text, /[0-9]{4,}/, `the block answer carries a digit run: ${ctx}`);
}

// ---------------------------------------------------------------------------------------------
// 1. pin: zero leaks over the labelled corpus

/** Positives in a deterministic order whose every prefix of >= 11 x k cases covers every type. */
function positivesInCoverageOrder(positives) {
  const byType = new Map();
  for (const c of positives) {
    const t = c.findings[0].type;
    if (!byType.has(t)) byType.set(t, []);
    byType.get(t).push(c);
  }
  const lists = [...byType.values()];
  const out = [];
  for (let i = 0; out.length < positives.length; i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

test('pin: every corpus case with PII reaches only the kr deployment; clean cases keep their priority (us)', { timeout: 180_000 }, async () => {
  const positives = corpus.filter((c) => c.findings.length > 0);
  const negatives = corpus.filter((c) => c.findings.length === 0);
  const sampleN = Number(process.env.GUARD_E2E_SAMPLE ?? 0);
  const send = sampleN > 0 ? positivesInCoverageOrder(positives).slice(0, Math.max(sampleN, 600)) : positives;
  const types = new Set(send.flatMap((c) => c.findings.map((f) => f.type)));
  assert.equal(types.size, 11, `the cases sent cover only ${[...types].join(',')}`);

  const ask = async (c, prefix) => {
    const id = `${prefix}-${c.index}`;
    try {
      const { data, response } = await client.chat.completions.create(
        { model: 'g-pin', messages: [{ role: 'user', content: c.text }] }, { headers: { 'x-request-id': id } }).withResponse();
      return { id, c, status: 200, content: data.choices[0].message.content, deployment: response.headers.get('x-baton-deployment') };
    } catch (e) {
      return { id, c, status: e.status ?? 0, error: e.message };
    }
  };

  const t0 = Date.now();
  const posResults = await pool(send, CONCURRENCY, (c) => ask(c, 'pin-pos'));
  const posMs = Date.now() - t0;
  const t1 = Date.now();
  const negResults = await pool(negatives, CONCURRENCY, (c) => ask(c, 'pin-neg'));
  const negMs = Date.now() - t1;

  // Every positive: answered, and seen upstream only via pin_kr, unchanged (pin does not redact).
  const failures = [];
  for (const r of posResults) {
    const recs = byRequestId(r.id);
    const tags = recs.map(tagOf);
    if (r.status !== 200) failures.push(`${r.id}: status ${r.status} ${r.error}`);
    else if (!recs.length) failures.push(`${r.id}: the fixture never saw it`);
    else if (tags.some((t) => t !== 'pin_kr')) failures.push(`${r.id}: reached ${tags.join(',')} (${JSON.stringify(r.c.text)})`);
    else if (recs[0].body?.messages?.[0]?.content !== r.c.text) failures.push(`${r.id}: kr got altered text ${JSON.stringify(recs[0].body?.messages?.[0]?.content)}`);
    else if (r.deployment !== `pin_kr/${UPSTREAM_MODEL}`) failures.push(`${r.id}: x-baton-deployment ${r.deployment}`);
  }

  // No request that reached us carries any labelled value (over all requests the fixture saw).
  const allForms = positives.flatMap((c) => c.findings.map((f) => ({ f, forms: leakForms(f.value, 9) })));
  const usBodies = chatHits('pin_us').map((rec) => ({ rec, text: rawJson(rec) }));
  const leaks = [];
  for (const { rec, text } of usBodies) {
    for (const { f, forms } of allForms) {
      const leak = findLeak(text, forms);
      if (leak) leaks.push(`${rec.headers['x-request-id']}: ${f.type} ${JSON.stringify(leak)}`);
    }
  }
  const positiveIds = new Set(posResults.map((r) => r.id));
  const positivesAtUs = usBodies.filter(({ rec }) => positiveIds.has(rec.headers['x-request-id']));

  // Clean cases keep the model's priority: the us deployment first.
  const negAtUs = negResults.filter((r) => r.status === 200 && byRequestId(r.id).every((rec) => tagOf(rec) === 'pin_us') && byRequestId(r.id).length > 0);
  const negElsewhere = negResults.filter((r) => !negAtUs.includes(r));
  const negRate = negAtUs.length / negResults.length;

  console.log(`# pin corpus: ${send.length}/${positives.length} positives (${types.size} types) in ${posMs} ms, `
    + `${failures.length} failures, ${positivesAtUs.length} positives at us, ${leaks.length} leaked values at us; `
    + `${negAtUs.length}/${negResults.length} negatives at us (${(negRate * 100).toFixed(1)}%) in ${negMs} ms`);
  for (const r of negElsewhere.slice(0, 10)) {
    console.log(`#   negative not at us: ${r.id} status=${r.status} tags=${byRequestId(r.id).map(tagOf).join(',')} ${JSON.stringify(r.c.text)}`);
  }

  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} positives not pinned correctly`);
  assert.equal(positivesAtUs.length, 0, `${positivesAtUs.length} positive requests reached us`);
  assert.deepEqual(leaks.slice(0, 20), [], `${leaks.length} PII values reached the us deployment`);
  assert.ok(negRate >= 0.95, `only ${(negRate * 100).toFixed(1)}% of clean cases went to us (over-pinning)`);
  if (sampleN <= 0 && posMs > PIN_BUDGET_MS) console.log(`# note: all positives took ${posMs} ms (> ${PIN_BUDGET_MS}); set GUARD_E2E_SAMPLE=600 on slow machines`);
});

// ---------------------------------------------------------------------------------------------
// 2. pin with nowhere to go

test('pin: no deployment with an allowed residency -> 503 no_deployment_available, nothing forwarded', async () => {
  const before = chatHits('only_us').length;
  const r = await chat({ model: 'g-pin-none', messages: [{ role: 'user', content: `주민등록번호 ${RRN_A} 확인해 주세요` }] });
  assert.equal(r.status, 503, r.text);
  assert.equal(errorOf(r.json)?.code, 'no_deployment_available', r.text);
  assert.equal(findLeak(r.text, leakForms(RRN_A, 4)), null, `the 503 leaks the value: ${r.text}`);
  assert.equal(chatHits('only_us').length, before, 'the us-only deployment received the request');
  assert.equal(byRequestId(r.requestId).length, 0);

  // The same model forwards clean text to us (the 503 is the pin, not a dead deployment).
  const ok = await chat({ model: 'g-pin-none', messages: [{ role: 'user', content: '오늘 날씨 어때요?' }] });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(byRequestId(ok.requestId).map(tagOf), ['only_us']);

  // Through the SDK as well.
  await assert.rejects(
    client.chat.completions.create({ model: 'g-pin-none', messages: [{ role: 'user', content: `phone ${PHONE}` }] }),
    (e) => e instanceof OpenAI.APIError && e.status === 503 && e.code === 'no_deployment_available',
  );
  assert.equal(chatHits('only_us').length, before + 1);

  // The kr deployment is switched off and a fallback model runs on us: still 503, nothing forwarded.
  const down = await chat({ model: 'g-pin-down', messages: [{ role: 'user', content: `주민등록번호 ${RRN_A}` }] });
  assert.equal(down.status, 503, down.text);
  assert.equal(errorOf(down.json)?.code, 'no_deployment_available', down.text);
  assert.deepEqual(byRequestId(down.requestId), [], 'a pinned request went to a us deployment or fallback');
  // ... while a clean request takes the us deployment.
  const downClean = await chat({ model: 'g-pin-down', messages: [{ role: 'user', content: 'hello' }] });
  assert.equal(downClean.status, 200, downClean.text);
  assert.deepEqual(byRequestId(downClean.requestId).map(tagOf), ['down_us']);
});

test('pin + stream: when the kr stream dies mid-way the continuation never moves to us', async () => {
  const id = rid('pin-cont');
  const stream = await client.chat.completions.create(
    { model: 'g-pin-cont', messages: [{ role: 'user', content: `제 전화 ${PHONE} 입니다` }], stream: true, fixture: { chunks: 6 } },
    { headers: { 'x-request-id': id } });
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(r.timedOut, false);
  const tags = byRequestId(id).map(tagOf);
  assert.ok(tags.length >= 1 && tags.every((t) => t === 'cont_kr'), `upstreams seen: ${tags.join(',')}`);
  assert.equal(chatHits('cont_us').length, 0);
  console.log(`# pin continuation: attempts ${tags.join(',')}, client content ${JSON.stringify(r.content)}, error ${r.error?.message ?? 'none'}`);
});

// ---------------------------------------------------------------------------------------------
// 3. block per type

test('block per type: KR_RRN blocked (400 pii_blocked, types and indexes, no digits); a phone alone passes', async () => {
  const before = chatHits('blk').length;
  const history = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: '안녕하세요' },
    { role: 'assistant', content: '무엇을 도와드릴까요?' },
  ];
  const rrn = await chat({ model: 'g-block-rrn', messages: [...history, { role: 'user', content: `제 주민등록번호는 ${RRN_A} 입니다` }] });
  assertBlocked(rrn, { type: 'KR_RRN', indexes: [3], values: [RRN_A], what: 'RRN in message 3' });
  assert.equal(errorOf(rrn.json).param, 'messages');

  // Two messages, and a phone next to it (allowed type): still blocked, both indexes listed.
  const two = await chat({ model: 'g-block-rrn', messages: [
    { role: 'user', content: `형 번호 ${RRN_B}` }, { role: 'assistant', content: 'ok' },
    { role: 'user', content: `제 번호 ${RRN_A}, 전화 ${PHONE}` }] });
  assertBlocked(two, { type: 'KR_RRN', indexes: [0, 2], values: [RRN_A, RRN_B, PHONE], what: 'RRNs in messages 0 and 2' });
  assert.doesNotMatch(errorOf(two.json).message, /KR_PHONE/, 'an allowed type is not a reason for the block');

  // SDK view of the same refusal.
  await assert.rejects(
    client.chat.completions.create({ model: 'g-block-rrn', messages: [{ role: 'user', content: `RRN ${RRN_A}` }] }),
    (e) => e instanceof OpenAI.APIError && e.status === 400 && e.code === 'pii_blocked' && /KR_RRN/.test(e.message) && !e.message.includes('1234568'),
  );
  assert.equal(chatHits('blk').length, before, 'a blocked request reached the upstream');

  // A phone number alone is allowed: forwarded unchanged.
  const phone = await chat({ model: 'g-block-rrn', messages: [{ role: 'user', content: `전화번호 ${PHONE} 로 연락주세요` }] });
  assert.equal(phone.status, 200, phone.text);
  const recs = byRequestId(phone.requestId);
  assert.deepEqual(recs.map(tagOf), ['blk']);
  assert.equal(recs[0].body.messages[0].content, `전화번호 ${PHONE} 로 연락주세요`);
});

// ---------------------------------------------------------------------------------------------
// 4. redact, JSON answers

/** Sends KOREAN to `model` and returns {rec, redacted, align} from what the upstream received. */
async function redactedView(model, extra = {}) {
  const id = rid('redact-probe');
  const res = await client.chat.completions.create({ model, messages: [{ role: 'user', content: KOREAN }], ...extra }, { headers: { 'x-request-id': id } });
  if (extra.stream) for await (const _ of res) { /* drain */ }
  const recs = byRequestId(id);
  assert.equal(recs.length, 1, `expected one upstream request for ${id}`);
  const rec = recs[0];
  const redacted = rec.body.messages[0].content;
  return { rec, redacted, align: alignPlaceholders(KOREAN, redacted) };
}

/** What the upstream received for the KOREAN prompt must hide every value and number them right. */
function assertRedactedKorean(rec, redacted, align) {
  const raw = rawJson(rec);
  const leak = findLeak(raw, VALUE_FORMS);
  assert.equal(leak, null, `the upstream received ${JSON.stringify(leak)}: ${raw}`);
  assert.ok(align, `the redacted text does not align with the original: ${JSON.stringify(redacted)}`);
  const { map, order } = align;
  assert.equal(order.length, 5, `expected 5 placeholders: ${redacted}`);
  assert.equal(map.size, 4, `expected 4 distinct placeholders: ${redacted}`);
  // Equal values share a placeholder, distinct values get distinct ones, each of its type.
  assert.equal(order[0], order[2], `the repeated RRN must reuse its placeholder: ${redacted}`);
  assert.notEqual(order[0], order[1], `two different RRNs share a placeholder: ${redacted}`);
  assert.match(order[0], /^\[KR_RRN_\d+\]$/);
  assert.match(order[1], /^\[KR_RRN_\d+\]$/);
  assert.match(order[3], /^\[EMAIL_\d+\]$/);
  assert.match(order[4], /^\[KR_PHONE_\d+\]$/);
  assert.equal(map.get(order[0]), RRN_A);
  assert.equal(map.get(order[1]), RRN_B);
  assert.equal(map.get(order[3]), EMAIL);
  assert.equal(map.get(order[4]), PHONE);
  // The documented numbering: from 1 per type, in order of appearance.
  assert.equal(redacted, '제 번호는 [KR_RRN_1], 형은 [KR_RRN_2]이고 다시 [KR_RRN_1], 메일 [EMAIL_1], 전화 [KR_PHONE_1]');
}

/** An answer that uses the placeholders out of order, plus one the redaction never issued. */
function echoText(order) {
  const [a, b, , mail, phone] = order;
  return `둘째 ${b} 첫째 ${a} 메일 ${mail} 전화 ${phone} 다시 ${a} 그리고 [KR_RRN_7] [EMAIL_1x] 끝`;
}

test('redact (JSON): the upstream sees typed placeholders only; the answer gets the right values back', async () => {
  // Step 1: learn what the upstream receives.
  const step1 = await redactedView('g-redact');
  assertRedactedKorean(step1.rec, step1.redacted, step1.align);

  // Step 2: the upstream answers with those placeholders (swapped order, repeated, plus an unknown one).
  const answer = echoText(step1.align.order);
  const id = rid('redact-json');
  const { data } = await client.chat.completions.create(
    { model: 'g-redact', messages: [{ role: 'user', content: KOREAN }], fixture: { text: answer } }, { headers: { 'x-request-id': id } }).withResponse();
  const rec = byRequestId(id)[0];
  const align2 = alignPlaceholders(KOREAN, rec.body.messages[0].content);
  assertRedactedKorean(rec, rec.body.messages[0].content, align2);
  assert.equal(rec.response.includes(RRN_A), false, 'sanity: the fixture answered with placeholders');
  const content = data.choices[0].message.content;
  const expected = `둘째 ${RRN_B} 첫째 ${RRN_A} 메일 ${EMAIL} 전화 ${PHONE} 다시 ${RRN_A} 그리고 [KR_RRN_7] [EMAIL_1x] 끝`;
  assert.equal(restoreWith(answer, align2.map), expected, 'sanity: the test\'s own expectation');
  assert.equal(content, expected, `restored answer: ${JSON.stringify(content)}`);
});

test('redact (JSON): a placeholder-shaped literal typed by the user is never handed out nor restored', async () => {
  const text = `제가 [EMAIL_1] 이라고 썼어요. 실제 메일은 ${EMAIL}, 그리고 [KR_RRN_1] 도 그냥 글자예요. 번호 ${RRN_A}`;
  const id = rid('redact-literal');
  await client.chat.completions.create({ model: 'g-redact', messages: [{ role: 'user', content: text }] }, { headers: { 'x-request-id': id } });
  const sent = byRequestId(id)[0].body.messages[0].content;
  assert.equal(findLeak(sent, [EMAIL, RRN_A, ...leakForms(RRN_A)]), null, sent);
  const align = alignPlaceholders(text, sent);
  assert.ok(align, sent);
  // The user's literals survive as such; the real values got other numbers.
  const mailPh = [...align.map].find(([, v]) => v === EMAIL)?.[0];
  const rrnPh = [...align.map].find(([, v]) => v === RRN_A)?.[0];
  assert.ok(mailPh && mailPh !== '[EMAIL_1]', `e-mail placeholder ${mailPh} must not be the user's literal [EMAIL_1]: ${sent}`);
  assert.ok(rrnPh && rrnPh !== '[KR_RRN_1]', `RRN placeholder ${rrnPh} must not be the user's literal [KR_RRN_1]: ${sent}`);
  assert.ok(sent.includes('[EMAIL_1] 이라고') && sent.includes('[KR_RRN_1] 도'), sent);

  const answer = `[EMAIL_1] ${mailPh} [KR_RRN_1] ${rrnPh}`;
  const { choices } = await client.chat.completions.create({ model: 'g-redact', messages: [{ role: 'user', content: text }], fixture: { text: answer } });
  assert.equal(choices[0].message.content, `[EMAIL_1] ${EMAIL} [KR_RRN_1] ${RRN_A}`);
});

// ---------------------------------------------------------------------------------------------
// 5. redact, streams

test('redact (stream): placeholders restored in the SDK stream, values never sent upstream', async () => {
  const step1 = await redactedView('g-redact-stream', { stream: true });
  assertRedactedKorean(step1.rec, step1.redacted, step1.align);
  const answer = echoText(step1.align.order);
  const id = rid('redact-stream');
  const stream = await client.chat.completions.create(
    { model: 'g-redact-stream', messages: [{ role: 'user', content: KOREAN }], stream: true, stream_options: { include_usage: true }, fixture: { text: answer } },
    { headers: { 'x-request-id': id } });
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(r.error, null, String(r.error));
  assert.equal(r.timedOut, false);
  const rec = byRequestId(id)[0];
  assert.equal(findLeak(rawJson(rec), VALUE_FORMS), null, rawJson(rec));
  const align2 = alignPlaceholders(KOREAN, rec.body.messages[0].content);
  assert.ok(align2);
  assert.equal(r.content, restoreWith(answer, align2.map));
  assert.equal(r.content, `둘째 ${RRN_B} 첫째 ${RRN_A} 메일 ${EMAIL} 전화 ${PHONE} 다시 ${RRN_A} 그리고 [KR_RRN_7] [EMAIL_1x] 끝`);
  assert.equal(r.chunks.filter((c) => c.choices?.[0]?.finish_reason === 'stop').length, 1, 'one finishing chunk');
  assert.ok(r.chunks.at(-1)?.usage, 'the usage chunk asked for is still the last one');
});

const SCRIPT_PROMPT = `제 주민등록번호 ${RRN_A} 이고 메일은 ${EMAIL} 입니다`;

async function scriptedStream(chunks, opts = {}) {
  const n = scripted.requests.length;
  const stream = await client.chat.completions.create({
    model: 'g-redact-scripted', messages: [{ role: 'user', content: SCRIPT_PROMPT }], stream: true,
    script: { chunks, finish_in_last: Boolean(opts.finishInLast) },
  });
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(r.error, null, String(r.error));
  assert.equal(r.timedOut, false);
  assert.equal(scripted.requests.length, n + 1);
  const finishAt = r.chunks.findIndex((c) => c.choices?.[0]?.finish_reason);
  const lastContent = r.chunks.findLastIndex((c) => (c.choices?.[0]?.delta?.content ?? '') !== '');
  assert.ok(finishAt >= lastContent, `content after the finishing chunk: ${JSON.stringify(r.chunks.map((c) => c.choices?.[0]))}`);
  const sent = scripted.requests[n];
  assert.equal(findLeak(sent.raw, [...leakForms(RRN_A), EMAIL]), null, sent.raw);
  assert.equal(sent.body.messages[0].content, '제 주민등록번호 [KR_RRN_1] 이고 메일은 [EMAIL_1] 입니다');
  return r;
}

test('redact (stream): placeholders split across SSE chunks are held back until complete', async () => {
  const cases = [
    { chunks: ['[KR_R', 'RN_1] and [EM', 'AIL_1].'], want: `${RRN_A} and ${EMAIL}.` },
    // One byte per chunk.
    { chunks: [...'x[KR_RRN_1]y[EMAIL_1]'], want: `x${RRN_A}y${EMAIL}` },
    // Brackets that are not (issued) placeholders pass through, including one left open at the end.
    { chunks: ['see [1] and [', 'note] or [KR_RRN_9] or [EMAIL_', '1x] [', '[KR_RRN_1]] end ['], want: `see [1] and [note] or [KR_RRN_9] or [EMAIL_1x] [${RRN_A}] end [` },
    // An incomplete placeholder at the end of the stream is flushed as it is.
    { chunks: ['value: [KR_RRN', '_1'], want: 'value: [KR_RRN_1' },
    // The last content chunk carries finish_reason itself.
    { chunks: ['mail: [EMA', 'IL_1]'], finishInLast: true, want: `mail: ${EMAIL}` },
    { chunks: ['open [KR_', 'RRN_'], finishInLast: true, want: 'open [KR_RRN_' },
  ];
  for (const c of cases) {
    const r = await scriptedStream(c.chunks, c);
    assert.equal(r.content, c.want, `chunks ${JSON.stringify(c.chunks)} -> ${JSON.stringify(r.content)} (${r.chunks.length} chunks)`);
    assert.equal(r.chunks.filter((x) => x.choices?.[0]?.finish_reason === 'stop').length, 1, `one finishing chunk for ${JSON.stringify(c.chunks)}`);
    // No chunk the client saw shows a placeholder this request issued.
    for (const ch of r.chunks) {
      const d = ch.choices?.[0]?.delta?.content ?? '';
      assert.ok(!d.includes('[KR_RRN_1]') && !d.includes('[EMAIL_1]'), `a chunk leaked a placeholder: ${JSON.stringify(d)}`);
    }
  }
  // Non-stream through the same upstream.
  const { choices } = await client.chat.completions.create({
    model: 'g-redact-scripted', messages: [{ role: 'user', content: SCRIPT_PROMPT }], script: { chunks: ['[KR_RRN_1]/[EMAIL_1]'] } });
  assert.equal(choices[0].message.content, `${RRN_A}/${EMAIL}`);
});

test('redact across messages: one placeholder per value over system, user and tool-call arguments', async () => {
  const id = rid('redact-multi');
  const args = JSON.stringify({ email: EMAIL, note: `rrn ${RRN_B}` });
  const messages = [
    { role: 'system', content: `고객 주민번호 ${RRN_A}` },
    { role: 'user', content: [{ type: 'text', text: `제 번호 ${RRN_A}, 형 ${RRN_B}` }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'mail', arguments: args } }] },
    { role: 'tool', tool_call_id: 'call_1', content: `sent to ${EMAIL}, call ${PHONE}` },
  ];
  const { choices } = await client.chat.completions.create(
    { model: 'g-redact', messages, fixture: { text: '[KR_RRN_1] [KR_RRN_2] [EMAIL_1] [KR_PHONE_1]' } }, { headers: { 'x-request-id': id } });
  const rec = byRequestId(id)[0];
  assert.equal(findLeak(rawJson(rec), VALUE_FORMS), null, rawJson(rec));
  const sent = rec.body.messages;
  assert.equal(sent[0].content, '고객 주민번호 [KR_RRN_1]');
  assert.equal(sent[1].content[0].text, '제 번호 [KR_RRN_1], 형 [KR_RRN_2]');
  assert.deepEqual(JSON.parse(sent[2].tool_calls[0].function.arguments), { email: '[EMAIL_1]', note: 'rrn [KR_RRN_2]' }, 'arguments stay a JSON document');
  assert.equal(sent[3].content, 'sent to [EMAIL_1], call [KR_PHONE_1]');
  assert.equal(sent[3].tool_call_id, 'call_1');
  assert.equal(choices[0].message.content, `${RRN_A} ${RRN_B} ${EMAIL} ${PHONE}`);
});

test('pin + redact combine: RRN pins (kept), phone and e-mail replaced; a phone alone is redacted without pinning', async () => {
  const both = rid('pin-redact');
  const text = `주민번호 ${RRN_A}, 전화 ${PHONE}, 메일 ${EMAIL}`;
  const a = await client.chat.completions.create(
    { model: 'g-pin-redact', messages: [{ role: 'user', content: text }], fixture: { text: 'call [KR_PHONE_1] or [EMAIL_1]' } }, { headers: { 'x-request-id': both } });
  const recA = byRequestId(both);
  assert.deepEqual(recA.map(tagOf), ['pr_kr']);
  assert.equal(recA[0].body.messages[0].content, `주민번호 ${RRN_A}, 전화 [KR_PHONE_1], 메일 [EMAIL_1]`);
  assert.equal(a.choices[0].message.content, `call ${PHONE} or ${EMAIL}`);

  const phoneOnly = rid('redact-nopin');
  const b = await client.chat.completions.create(
    { model: 'g-pin-redact', messages: [{ role: 'user', content: `전화 ${PHONE}` }], fixture: { text: '[KR_PHONE_1]' } }, { headers: { 'x-request-id': phoneOnly } });
  const recB = byRequestId(phoneOnly);
  assert.deepEqual(recB.map(tagOf), ['pr_us'], 'a redact-only request keeps the priority order');
  assert.equal(recB[0].body.messages[0].content, '전화 [KR_PHONE_1]');
  assert.equal(b.choices[0].message.content, PHONE);
});

/** A valid RRN (check digit right) born 19YY-MM-DD with serial `serial` (5 digits). */
function makeRrn(yy, mm, dd, serial) {
  const d = `${String(yy).padStart(2, '0')}${String(mm).padStart(2, '0')}${String(dd).padStart(2, '0')}1${String(serial).padStart(5, '0')}`;
  const w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
  const sum = w.reduce((acc, x, i) => acc + x * Number(d[i]), 0);
  return `${d.slice(0, 6)}-${d.slice(6)}${(11 - (sum % 11)) % 10}`;
}

test('redact: concurrent requests each get their own values back (no cross-request restore)', async () => {
  const N = 24;
  const rrns = Array.from({ length: N }, (_, i) => makeRrn(70 + (i % 20), 1 + (i % 12), 1 + i, 10000 + i * 37));
  const results = await pool(rrns, 12, async (rrn, i) => {
    const id = rid('iso');
    const body = { model: 'g-redact-stream', messages: [{ role: 'user', content: `제 주민등록번호 ${rrn}` }],
      fixture: { text: 'yours: [KR_RRN_1] end', delay_ms: 30, gap_ms: 10 } };
    if (i % 2) {
      const s = await client.chat.completions.create({ ...body, stream: true }, { headers: { 'x-request-id': id } });
      const r = await collectStream(s, { deadlineMs: 10_000 });
      return { id, rrn, content: r.content, error: r.error };
    }
    const c = await client.chat.completions.create(body, { headers: { 'x-request-id': id } });
    return { id, rrn, content: c.choices[0].message.content, error: null };
  });
  for (const r of results) {
    assert.equal(r.error, null, String(r.error));
    assert.equal(r.content, `yours: ${r.rrn} end`, `${r.id}`);
    assert.equal(byRequestId(r.id)[0].body.messages[0].content, '제 주민등록번호 [KR_RRN_1]');
  }
});

test('redact + stream continuation: the next deployment gets placeholders only, the client the values once', async () => {
  const answer = '둘째 [KR_RRN_2] 첫째 [KR_RRN_1] 메일 [EMAIL_1] 전화 [KR_PHONE_1] 끝';
  const id = rid('redact-cont');
  const stream = await client.chat.completions.create(
    { model: 'g-redact-cont', messages: [{ role: 'user', content: KOREAN }], stream: true, fixture: { text: answer } },
    { headers: { 'x-request-id': id } });
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(r.error, null, String(r.error));
  const recs = byRequestId(id);
  assert.deepEqual(recs.map(tagOf), ['rc_die', 'rc_ok'], 'expected a continuation on the second deployment');
  for (const rec of recs) assert.equal(findLeak(rawJson(rec), VALUE_FORMS), null, `${tagOf(rec)} received ${rawJson(rec)}`);
  const align = alignPlaceholders(KOREAN, recs[0].body.messages[0].content);
  assert.ok(align);
  assert.equal(r.content, restoreWith(answer, align.map));
});

test('redact: JSON escapes in the request body are redacted and re-escaped correctly', async () => {
  const id = rid('redact-escape');
  // Hand-written JSON: escaped quotes, \u escapes (Hangul and a surrogate pair), a newline, a tab, a backslash.
  const raw = String.raw`{"model":"g-redact","messages":[{"role":"user","content":"\"\uC778\uC6A9\" \uC8FC\uBBFC\uBC88\uD638 900101-1234568\n`
    + String.raw`\ub458\uc9f8 \uc904\t\\ \ud83d\ude00 kim@example.com \u0039\u0030\u0030\u0031\u0030\u0031-1234568"}],`
    + '"fixture":{"text":"[KR_RRN_1] [EMAIL_1]"}}';
  const original = JSON.parse(raw).messages[0].content;
  assert.ok(original.includes(RRN_A) && original.includes('\n') && original.includes('\t') && original.includes('"') && original.includes('😀'), 'sanity: the test body');
  const r = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST', body: raw, headers: { 'x-request-id': id } });
  assert.equal(r.status, 200, r.text);
  const rec = byRequestId(id)[0];
  assert.equal(typeof rec.body, 'object', `the upstream got invalid JSON: ${rec.body}`);
  assert.equal(findLeak(rawJson(rec), [...leakForms(RRN_A), EMAIL]), null, rawJson(rec));
  assert.equal(rec.body.messages[0].content, original.replaceAll(RRN_A, '[KR_RRN_1]').replace(EMAIL, '[EMAIL_1]'));
  assert.equal(r.json.choices[0].message.content, `${RRN_A} ${EMAIL}`);
});

test('redact: tool-call arguments in the answer are restored (JSON answer)', async () => {
  const { choices } = await client.chat.completions.create({
    model: 'g-redact-scripted', messages: [{ role: 'user', content: SCRIPT_PROMPT }],
    script: { tool_args: ['{"to":"[EMAIL_1]","rrn":"[KR_RRN_1]"}'] } });
  assert.equal(choices[0].message.tool_calls?.[0]?.function?.arguments, JSON.stringify({ to: EMAIL, rrn: RRN_A }));
});

test('redact: tool-call arguments in a streamed answer are restored', {
  todo: 'KNOWN GAP (docs/GUARD.md): streamed tool_calls[].function.arguments keep the placeholders; non-stream answers are restored',
}, async () => {
  const stream = await client.chat.completions.create({
    model: 'g-redact-scripted', messages: [{ role: 'user', content: SCRIPT_PROMPT }], stream: true,
    script: { tool_args: ['{"to":"[EM', 'AIL_1]","rrn":"[KR_RRN_1]"}'] } });
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(r.error, null, String(r.error));
  const args = r.chunks.map((c) => c.choices?.[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '').join('');
  assert.equal(args, JSON.stringify({ to: EMAIL, rrn: RRN_A }));
});

test('redact (stream, n=2): interleaved choices each get their own restored text', {
}, async () => {
  const stream = await client.chat.completions.create({
    model: 'g-redact-scripted', messages: [{ role: 'user', content: SCRIPT_PROMPT }], stream: true, n: 2,
    script: { deltas: [[0, 'A [KR_R'], [1, 'B '], [0, 'RN_1] a'], [1, '[EMAIL_1] b']] } });
  const r = await collectStream(stream, { deadlineMs: 10_000 });
  assert.equal(r.error, null, String(r.error));
  const per = ['', ''];
  for (const c of r.chunks) for (const ch of c.choices ?? []) per[ch.index] += ch.delta?.content ?? '';
  assert.deepEqual(per, [`A ${RRN_A} a`, `B ${EMAIL} b`]);
});

test('embeddings: PII in the input of a model whose policy blocks is refused', {
}, async () => {
  const id = rid('emb-block');
  const r = await rawRequest(`${baton.url}/v1/embeddings`, { method: 'POST', headers: { 'x-request-id': id },
    body: { model: 'g-embed-block', input: [`주민등록번호 ${RRN_A}`] } });
  const seen = byRequestId(id);
  assert.equal(seen.length, 0, `the upstream received ${seen.map(rawJson).join(' ')} (status ${r.status})`);
  assert.equal(r.status, 400, r.text);
  assert.equal(errorOf(r.json)?.code, 'pii_blocked', r.text);
});

// ---------------------------------------------------------------------------------------------
// 6. access log and metrics

const PII_METRICS = [
  ['baton_pii_findings_total', { type: 'KR_RRN', action: 'block' }],
  ['baton_pii_findings_total', { type: 'KR_PHONE', action: 'allow' }],
  ['baton_pii_findings_total', { type: 'KR_RRN', action: 'redact' }],
  ['baton_pii_findings_total', { type: 'EMAIL', action: 'redact' }],
  ['baton_pii_findings_total', { type: 'KR_PHONE', action: 'redact' }],
  ['baton_pii_findings_total', { type: 'KR_PHONE', action: 'pin' }],
  ['baton_pii_requests_total', { action: 'block' }],
  ['baton_pii_requests_total', { action: 'redact' }],
  ['baton_pii_requests_total', { action: 'pin' }],
  ['baton_pii_requests_total', { action: 'allow' }],
];

async function piiCounters() {
  const r = await rawRequest(`${baton.url}/metrics`, { timeoutMs: 5000 });
  assert.equal(r.status, 200);
  const all = parseMetrics(r.text);
  return Object.fromEntries(PII_METRICS.map(([n, l]) => [metricKey(n, l), all.get(metricKey(n, l)) ?? 0]));
}

test('audit: access log lines carry pii_action/pii_types and never a value; /metrics counters move', async () => {
  const m0 = await piiCounters();
  const ids = { block: rid('audit-block'), redact: rid('audit-redact'), pin: rid('audit-pin'), allow: rid('audit-allow'), clean: rid('audit-clean') };
  const blocked = await chat({ model: 'g-block-rrn', messages: [{ role: 'user', content: `${RRN_A} / ${RRN_B} / ${PHONE}` }] }, ids.block);
  assert.equal(blocked.status, 400, blocked.text);
  const redacted = await chat({ model: 'g-redact', messages: [{ role: 'user', content: KOREAN }] }, ids.redact);
  assert.equal(redacted.status, 200, redacted.text);
  const pinned = await chat({ model: 'g-audit-pin', messages: [{ role: 'user', content: `전화 ${PHONE}` }] }, ids.pin);
  assert.equal(pinned.status, 200, pinned.text);
  const allowed = await chat({ model: 'g-block-rrn', messages: [{ role: 'user', content: `전화 ${PHONE}` }] }, ids.allow);
  assert.equal(allowed.status, 200, allowed.text);
  const clean = await chat({ model: 'g-redact', messages: [{ role: 'user', content: 'nothing personal here' }] }, ids.clean);
  assert.equal(clean.status, 200, clean.text);

  const lines = await waitForLogLines(accessLog, Object.values(ids));
  const pick = (k) => { const l = lines.get(ids[k]); return { action: l.pii_action, types: l.pii_types, status: l.status, error: l.error }; };
  assert.deepEqual(pick('block'), { action: 'block', types: 'KR_RRN:2,KR_PHONE:1', status: 400, error: 'pii_blocked' });
  assert.deepEqual(pick('redact'), { action: 'redact', types: 'KR_RRN:3,KR_PHONE:1,EMAIL:1', status: 200, error: undefined });
  assert.deepEqual(pick('pin'), { action: 'pin', types: 'KR_PHONE:1', status: 200, error: undefined });
  assert.deepEqual(pick('allow'), { action: 'allow', types: 'KR_PHONE:1', status: 200, error: undefined });
  assert.deepEqual(pick('clean'), { action: undefined, types: undefined, status: 200, error: undefined });

  const m1 = await piiCounters();
  const delta = Object.fromEntries(Object.keys(m1).map((k) => [k, m1[k] - m0[k]]));
  assert.deepEqual(delta, {
    [metricKey('baton_pii_findings_total', { type: 'KR_RRN', action: 'block' })]: 2,
    [metricKey('baton_pii_findings_total', { type: 'KR_PHONE', action: 'allow' })]: 2, // blocked request + allowed one
    [metricKey('baton_pii_findings_total', { type: 'KR_RRN', action: 'redact' })]: 3,
    [metricKey('baton_pii_findings_total', { type: 'EMAIL', action: 'redact' })]: 1,
    [metricKey('baton_pii_findings_total', { type: 'KR_PHONE', action: 'redact' })]: 1,
    [metricKey('baton_pii_findings_total', { type: 'KR_PHONE', action: 'pin' })]: 1,
    [metricKey('baton_pii_requests_total', { action: 'block' })]: 1,
    [metricKey('baton_pii_requests_total', { action: 'redact' })]: 1,
    [metricKey('baton_pii_requests_total', { action: 'pin' })]: 1,
    [metricKey('baton_pii_requests_total', { action: 'allow' })]: 1,
  });

  // The whole log so far (the corpus run included): no labelled value, no value of these tests.
  // Numeric fields (timestamps, durations) are left out of the digits-only comparison.
  const records = readAccessLog(accessLog);
  assert.ok(records.length > 10);
  const haystacks = records.map((rec) => (rec.raw !== undefined ? rec.raw
    : JSON.stringify(Object.fromEntries(Object.entries(rec).filter(([, v]) => typeof v !== 'number')))));
  const forms = [...corpus.flatMap((c) => c.findings.flatMap((f) => leakForms(f.value, 9))), ...VALUE_FORMS];
  const leaks = [];
  for (const h of haystacks) { const l = findLeak(h, forms); if (l) leaks.push(`${l} in ${h.slice(0, 200)}`); }
  assert.deepEqual(leaks.slice(0, 10), [], `${leaks.length} access-log lines carry PII`);
  assert.equal(records.filter((r) => r.raw !== undefined).length, 0, 'every access-log line is JSON');
  const pinLines = records.filter((r) => typeof r.request_id === 'string' && r.request_id.startsWith('pin-pos-'));
  if (pinLines.length) {
    assert.ok(pinLines.every((r) => r.pii_action === 'pin' && /^[A-Z_]+:\d+(,[A-Z_]+:\d+)*$/.test(r.pii_types)),
      'every pinned corpus request is logged as pin with its types');
  }
  console.log(`# access log: ${records.length} lines checked, ${pinLines.length} pinned corpus lines`);
});

// ---------------------------------------------------------------------------------------------
// 7. every text the upstream reads is scanned

test('block: PII only in a system message, a text content part, a tool-call arguments string or a tool result is caught', async () => {
  const before = chatHits('allblk').length;
  const cases = [
    { what: 'system message', type: 'KR_RRN', indexes: [0], values: [RRN_A], messages: [
      { role: 'system', content: `고객 주민등록번호: ${RRN_A}` }, { role: 'user', content: '요약해 주세요' }] },
    { what: 'developer message', type: 'EMAIL', indexes: [0], values: [EMAIL], messages: [
      { role: 'developer', content: `contact ${EMAIL}` }, { role: 'user', content: 'hi' }] },
    { what: 'text content part', type: 'EMAIL', indexes: [1], values: [EMAIL], messages: [
      { role: 'user', content: 'hello' },
      { role: 'user', content: [{ type: 'text', text: '첫 부분' }, { type: 'text', text: `메일 주소는 ${EMAIL} 입니다` }] }] },
    { what: 'system content part', type: 'KR_PHONE', indexes: [0], values: [PHONE], messages: [
      { role: 'system', content: [{ type: 'text', text: `상담원 전화 ${PHONE}` }] }, { role: 'user', content: 'hi' }] },
    { what: 'tool-call arguments', type: 'KR_RRN', indexes: [1], values: [RRN_A], messages: [
      { role: 'user', content: '조회해 주세요' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ rrn: RRN_A }) } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'not found' }] },
    { what: 'tool result', type: 'KR_PHONE', indexes: [2], values: [PHONE], messages: [
      { role: 'user', content: '조회해 주세요' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"id":"42"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: `{"phone":"${PHONE}"}` }] },
    { what: 'legacy function_call arguments', type: 'KR_RRN', indexes: [1], values: [RRN_B], messages: [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: `{"rrn": "${RRN_B}"}` } }] },
  ];
  for (const c of cases) {
    const r = await chat({ model: 'g-block-all', messages: c.messages });
    assertBlocked(r, { type: c.type, indexes: c.indexes, values: c.values, what: c.what });
  }
  // Digits written as JSON \u escapes are the same text to the upstream.
  const escaped = await rawRequest(`${baton.url}/v1/chat/completions`, { method: 'POST',
    body: '{"model":"g-block-all","messages":[{"role":"user","content":"RRN \\u0039\\u0030\\u0030\\u0031\\u0030\\u0031-1234568"}]}' });
  assertBlocked(escaped, { type: 'KR_RRN', indexes: [0], values: [RRN_A], what: 'JSON-escaped digits' });
  assert.equal(chatHits('allblk').length, before, 'a blocked request reached the upstream');

  // The same shapes without PII go through (the block is about the values, not the shapes).
  const clean = await chat({ model: 'g-block-all', messages: [
    { role: 'system', content: [{ type: 'text', text: 'be brief' }] },
    { role: 'user', content: [{ type: 'text', text: '조회해 주세요' }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"id":"42"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'not found' }] });
  assert.equal(clean.status, 200, clean.text);
  assert.equal(chatHits('allblk').length, before + 1);
});
