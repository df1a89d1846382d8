// The guard's line contract (ARCHITECTURE §3.1, §3.3) on the real binary: `baton guard scan`
// (stdin JSON lines -> stdout findings with UTF-8 byte offsets) and POST /admin/guard/scan, which
// must answer exactly the CLI's lines, behind the master key.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BATON_BIN, startBaton } from './lib/baton.mjs';
import { rawRequest } from './lib/http.mjs';

const MASTER_KEY = 'sk-master-guard-test';
const RRN = '900101-1234568';
const PHONE_FULL_WIDTH = '０１０－１２３４－５６７８';

/** Byte offsets of `value` in `text`, as the contract defines them (UTF-8, end exclusive). */
function byteSpan(text, value) {
  const at = text.indexOf(value);
  assert.ok(at >= 0, `${value} not in ${text}`);
  const start = Buffer.byteLength(text.slice(0, at), 'utf8');
  return { start, end: start + Buffer.byteLength(value, 'utf8') };
}

// Korean lines where character and byte offsets differ: Hangul is 3 bytes, full-width digits 3.
const CASES = [
  { id: 'rrn-glued', text: `번호는${RRN}이에요`, want: [{ type: 'KR_RRN', value: RRN }] },
  { id: 'phone-full-width', text: `전화 ${PHONE_FULL_WIDTH} 로 주세요`, want: [{ type: 'KR_PHONE', value: PHONE_FULL_WIDTH }] },
  {
    id: 'several',
    text: `제 주민등록번호는 ${RRN}입니다. 연락처 010-1234-5678, 메일 kim@naver.com`,
    want: [{ type: 'KR_RRN', value: RRN }, { type: 'KR_PHONE', value: '010-1234-5678' }, { type: 'EMAIL', value: 'kim@naver.com' }],
  },
  { id: 'clean', text: '회의는 2024-01-15, 총 1,234,567원, 주문번호 2024011512345678', want: [] },
  { id: 7, text: 'IP 211.234.56.78', want: [{ type: 'IP_ADDRESS', value: '211.234.56.78' }] },
];
const INPUT = `${CASES.map(({ id, text }) => JSON.stringify({ id, text })).join('\n')}\n`;
const EXPECTED = CASES.map(({ id, text, want }) => JSON.stringify({
  id: String(id),
  findings: want.map(({ type, value }) => ({ type, ...byteSpan(text, value) })),
})).join('\n') + '\n';

/** Run `baton ...args` with `input` on stdin; resolves {code, stdout, stderr}. */
function runBaton(args, input, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BATON_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`baton ${args.join(' ')} timed out`)); }, timeoutMs);
    proc.once('error', (e) => { clearTimeout(timer); reject(e); });
    proc.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    proc.stdin.end(input);
  });
}

let baton;
before(async () => {
  baton = await startBaton({ server: { listen: '127.0.0.1:0', workers: 1 }, auth: { master_key: MASTER_KEY } });
});
afterEach(() => baton?.assertAlive());
after(async () => { await baton?.stop(); });

const scanUrl = () => `${baton.url}/admin/guard/scan`;
const auth = { authorization: `Bearer ${MASTER_KEY}` };

test('guard scan: exact UTF-8 byte offsets on Korean lines, sorted, exit 0', { timeout: 30_000 }, async () => {
  // Hand-checked anchors for the byte arithmetic above: 번호는 is 9 bytes, 전화 + space is 7.
  assert.deepEqual(byteSpan(CASES[0].text, RRN), { start: 9, end: 23 });
  assert.deepEqual(byteSpan(CASES[1].text, PHONE_FULL_WIDTH), { start: 7, end: 46 });
  const r = await runBaton(['guard', 'scan'], INPUT);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, EXPECTED);
});

test('guard scan: malformed lines answer an error line in place and exit 1', { timeout: 30_000 }, async () => {
  const r = await runBaton(['guard', 'scan'], `{"id":"a","text":"010-1234-5678"}\nnot json\n\n{"id":"b"}\n{"id":"c","text":""}\n`);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);  // the blank line gets no answer
  assert.deepEqual(lines[0], { id: 'a', findings: [{ type: 'KR_PHONE', start: 0, end: 13 }] });
  assert.equal(lines[1].id, null);
  assert.match(lines[1].error, /invalid JSON/);
  assert.deepEqual(lines[2], { id: null, error: '"text" must be a string' });
  assert.deepEqual(lines[3], { id: 'c', findings: [] });
});

test('guard scan --config: validated when given', { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-guard-'));
  try {
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(good, 'guard:\n  pii: { action: redact, types: { KR_RRN: block } }\n');
    const ok = await runBaton(['guard', 'scan', '--config', good], INPUT);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, EXPECTED);

    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'guard:\n  pii:\n    types: { KR_SSN: block }\n');
    const r = await runBaton(['guard', 'scan', '--config', bad], INPUT);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /bad\.yaml:3: guard\.pii\.types\.KR_SSN: unknown PII type 'KR_SSN'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('POST /admin/guard/scan answers exactly the CLI output as x-ndjson', { timeout: 30_000 }, async () => {
  const cli = await runBaton(['guard', 'scan'], INPUT);
  const r = await rawRequest(scanUrl(), { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body: INPUT });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^application\/x-ndjson/);
  assert.equal(r.text, cli.stdout);
  assert.equal(r.text, EXPECTED);

  // Malformed lines: the same error lines as the CLI, still 200.
  const mixed = '{"id":"a","text":"010-1234-5678"}\n[1]\n';
  const cliMixed = await runBaton(['guard', 'scan'], mixed);
  const m = await rawRequest(scanUrl(), { method: 'POST', headers: auth, body: mixed });
  assert.equal(m.status, 200);
  assert.equal(m.text, cliMixed.stdout);
});

test('POST /admin/guard/scan takes one (pretty-printed) JSON object too', { timeout: 30_000 }, async () => {
  const one = CASES[2];
  const r = await rawRequest(scanUrl(), { method: 'POST', headers: auth, body: JSON.stringify({ id: one.id, text: one.text }, null, 2) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, `${EXPECTED.split('\n')[2]}\n`);
});

test('POST /admin/guard/scan needs the master key', { timeout: 30_000 }, async () => {
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: MASTER_KEY }]) {
    const r = await rawRequest(scanUrl(), { method: 'POST', headers, body: INPUT });
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.json?.error?.code, 'invalid_api_key');
    assert.equal(r.headers['www-authenticate'], 'Bearer');
    assert.ok(!r.text.includes(RRN), 'a refused scan must not echo the input');
  }
  const get = await rawRequest(scanUrl(), { headers: auth });
  assert.equal(get.status, 405);
});

test('POST /admin/guard/scan refuses bodies over 1 MiB (the CLI takes any size)', { timeout: 30_000 }, async () => {
  const line = `${JSON.stringify({ id: 'x', text: 'a'.repeat(1000) })}\n`;
  const r = await rawRequest(scanUrl(), { method: 'POST', headers: auth, body: line.repeat(1100) });
  assert.equal(r.status, 413, r.text.slice(0, 200));
  assert.equal(r.json?.error?.code, 'body_too_large');
});
