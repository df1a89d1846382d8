// Soak: baton under steady mixed load with a fault mix for a given time, sampled every few seconds.
//
//   node bench/soak/soak.mjs [--minutes 30] [--sample-s 10] [--out var/soak] [--own-fixture]
//   make soak SOAK_MINUTES=30            make soak-ci (1 minute, own fixture: what CI runs)
//
// Load comes from peer-bench's tools: its nginx fixture answers the plain JSON and SSE traffic
// (../shared/peer-bench start.sh, port 28080; with --own-fixture, or when peer-bench is not there,
// our Node fixture answers it instead) and `hey` drives every stream at a fixed rate, so the
// run leaves CPU for the rest of the machine and the mix does not depend on how fast baton is. The
// fault mix comes from our own fault fixture (tests/fixture/upstream.mjs) in this process:
//
//   stream            model            rate        expected answers
//   json              bench-json       320/s       200
//   sse (20 chunks)   bench-sse         80/s       200
//   failover          fault-failover    20/s       200 (first deployment answers 500, the second serves)
//   500 storm         fault-500         20/s       500
//   429 + retry-after fault-429         10/s       429
//   death mid-stream  fault-die         10/s       200 (the stream ends early)
//   malformed JSON    fault-malformed   10/s       502
//   refused           fault-refused     10/s       502
//   hang              fault-hang         4/s       504 (first_token_ms 300)
// A deployment that only ever fails opens its breaker after 1000 failures in a row, so the failing
// streams also see 503 no_deployment_available while it is open.
//   client vanishes   fault-vanish       4/s       the client leaves after 1 s of a 4 s stream; upstream cancelled
//
// Every sample records baton's RSS, open fds, threads, open connections and request counts by status
// (from /metrics). At the end: RSS growth after warm-up (the first sixth of the run, at most 5 min),
// fds after the load stops, each stream's status counts against what it should be. Exit status 1 when
// RSS grew more than 5 % (runs of 10 minutes or more: before that SQLite's 16 MiB page cache is still
// filling), baton died, or a stream saw an unexpected status or a client-side error.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFixture } from '../../tests/fixture/upstream.mjs';
import { fdCount, rssKiB } from '../../tests/integration/lib/proc.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PEER_BENCH = process.env.PEER_BENCH ?? path.resolve(ROOT, '../shared/peer-bench');
const FIXTURE_PORT = Number(process.env.FIXTURE_PORT ?? 28080);
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const minutes = Number(arg('--minutes', 30));
const sampleMs = Number(arg('--sample-s', 10)) * 1000;
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const outDir = path.resolve(ROOT, arg('--out', 'var/soak'), stamp);
const MAX_RSS_GROWTH = 0.05;
const RSS_VERDICT_MIN_MINUTES = 10;
const usePeerBench = !process.argv.includes('--own-fixture') && fs.existsSync(path.join(PEER_BENCH, 'start.sh'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
fs.mkdirSync(outDir, { recursive: true });
const log = (...a) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...a);

// --- upstreams -----------------------------------------------------------------------------------
if (usePeerBench) {
  execFileSync(path.join(PEER_BENCH, 'setup.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(path.join(PEER_BENCH, 'start.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
}
const fx = await startFixture();
const knob = (k) => fx.url(k);
// The plain traffic: peer-bench's nginx fixture, or ours (20 chunks per stream, as peer-bench's).
const plainJson = usePeerBench ? `http://127.0.0.1:${FIXTURE_PORT}/v1` : knob({});
const plainSse = usePeerBench ? `http://127.0.0.1:${FIXTURE_PORT}/stream/v1` : knob({ chunks: 20 });
const single = 'retry: { max_attempts: 1 }\n    breaker: { consecutive_failures: 1000, failure_ratio: 0 }';

// --- baton -----------------------------------------------------------------------------------------
const config = `# written by bench/soak/soak.mjs
server:
  listen: "127.0.0.1:0"
  workers: 2
  access_log: "${path.join(outDir, 'access.log')}"
storage:
  url: "sqlite://${path.join(outDir, 'soak.db')}"
providers:
  nginx:      { kind: openai, base_url: "${plainJson}", api_key: "sk-soak" }
  nginx-sse:  { kind: openai, base_url: "${plainSse}", api_key: "sk-soak" }
  fx-500:     { kind: openai, base_url: "${knob({ status: 500 })}", api_key: "sk-soak" }
  fx-429:     { kind: openai, base_url: "${knob({ retry_after: 0 })}", api_key: "sk-soak" }
  fx-die:     { kind: openai, base_url: "${knob({ chunks: 10, die_after: 3 })}", api_key: "sk-soak" }
  fx-bad:     { kind: openai, base_url: "${knob({ malformed: 1 })}", api_key: "sk-soak" }
  fx-hang:    { kind: openai, base_url: "${knob({ delay_ms: 5000 })}", api_key: "sk-soak", timeouts: { first_token_ms: 300 } }
  fx-slow:    { kind: openai, base_url: "${knob({ chunks: 40, gap_ms: 100 })}", api_key: "sk-soak" }
  refused:    { kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: "sk-soak" }
models:
  - name: bench-json
    deployments: [ { provider: nginx, model: gpt-4o-mini } ]
  - name: bench-sse
    deployments: [ { provider: nginx-sse, model: gpt-4o-mini } ]
  - name: fault-failover
    deployments: [ { provider: fx-500, model: m, weight: 1 } ]
    fallbacks: [ bench-json ]
    retry: { max_attempts: 2 }
    breaker: { consecutive_failures: 1000, failure_ratio: 0 }
${[['fault-500', 'fx-500'], ['fault-429', 'fx-429'], ['fault-die', 'fx-die'], ['fault-malformed', 'fx-bad'],
    ['fault-refused', 'refused'], ['fault-hang', 'fx-hang'], ['fault-vanish', 'fx-slow']]
    .map(([name, provider]) => `  - name: ${name}\n    deployments: [ { provider: ${provider}, model: m } ]\n    ${single}`).join('\n')}
`;
const configPath = path.join(outDir, 'baton-soak.yaml');
fs.writeFileSync(configPath, config);
const batonBin = process.env.BATON_BIN ?? path.join(ROOT, 'build', 'baton');
const baton = spawn(batonBin, ['serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
let batonErr = '';
baton.stderr.on('data', (d) => { batonErr += d; });
let batonExit = null;
baton.on('exit', (code, signal) => { batonExit = { code, signal }; });
const port = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`baton did not start: ${out}${batonErr}`)), 20_000);
  baton.stdout.on('data', (d) => {
    out += d;
    const m = /baton listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
});
baton.stdout.resume();
const url = `http://127.0.0.1:${port}`;
for (const end = Date.now() + 20_000; ; await sleep(100)) {
  const ok = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
  if (ok) break;
  if (Date.now() > end) throw new Error('baton not ready');
}
log(`baton pid ${baton.pid} on ${url}; fault fixture on ${fx.port}; ${minutes} min; results in ${outDir}`);

// --- load ------------------------------------------------------------------------------------------
const body = (model, extra = {}) => {
  const file = path.join(outDir, `body-${model}.json`);
  fs.writeFileSync(file, JSON.stringify({ model, messages: [{ role: 'user', content: 'soak test: say something' }], ...extra }));
  return file;
};
const streams = [
  { name: 'json', model: 'bench-json', c: 8, q: 40, expect: [200] },
  { name: 'sse', model: 'bench-sse', c: 4, q: 20, stream: true, expect: [200] },
  { name: 'failover', model: 'fault-failover', c: 2, q: 10, expect: [200] },
  // A deployment that only fails opens its breaker after 1000 failures in a row (the most
  // consecutive_failures allows): 503 no_deployment_available while open, one probe per cooldown.
  { name: '500-storm', model: 'fault-500', c: 2, q: 10, expect: [500, 503] },
  { name: '429', model: 'fault-429', c: 1, q: 10, expect: [429, 503] },
  { name: 'die-mid-stream', model: 'fault-die', c: 1, q: 10, stream: true, expect: [200, 503] },
  { name: 'malformed', model: 'fault-malformed', c: 1, q: 10, expect: [502, 503] },
  { name: 'refused', model: 'fault-refused', c: 1, q: 10, expect: [502, 503] },
  { name: 'hang', model: 'fault-hang', c: 2, q: 2, expect: [504, 503] },
  // hey records the 200 of the head and drops the body read at its timeout: the fixture's
  // closed_early records show that the client went away mid-stream and baton cancelled the upstream.
  { name: 'vanish', model: 'fault-vanish', c: 4, q: 1, stream: true, timeoutS: 1, expect: [200], cancels: true },
];
const durationS = Math.round(minutes * 60);
const loads = streams.map((s) => {
  const args = ['-z', `${durationS}s`, '-c', String(s.c), '-q', String(s.q), '-m', 'POST', '-T', 'application/json',
    '-t', String(s.timeoutS ?? 20), '-D', body(s.model, s.stream ? { stream: true } : {}), `${url}/v1/chat/completions`];
  const p = spawn('hey', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  // 'close', not 'exit': hey's summary may still be in the pipe when the process has exited.
  const done = new Promise((resolve) => p.on('close', (code) => resolve({ ...s, code, out })));
  return { s, p, done };
});

// --- sampling --------------------------------------------------------------------------------------
async function metrics() {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const byClass = { '2xx': 0, '4xx': 0, '5xx': 0 };
  let open = 0;
  for (const line of text.split('\n')) {
    const m = /^baton_requests_total\{[^}]*status="(\d)\d\d"[^}]*\} (\d+)/.exec(line);
    if (m) byClass[`${m[1]}xx`] = (byClass[`${m[1]}xx`] ?? 0) + Number(m[2]);
    const o = /^baton_connections_open (\d+)/.exec(line);
    if (o) open = Number(o[1]);
  }
  return { ...byClass, open };
}
const threads = (pid) => fs.readdirSync(`/proc/${pid}/task`).length;
const csv = fs.createWriteStream(path.join(outDir, 'samples.csv'));
csv.write('elapsed_s,rss_kib,fds,threads,connections_open,requests_2xx,requests_4xx,requests_5xx\n');
const samples = [];
let upstreamCancels = 0;  // fault-vanish streams whose upstream baton closed mid-answer
const t0 = Date.now();
const loadEnd = t0 + durationS * 1000;
while (Date.now() < loadEnd && !batonExit) {
  await sleep(Math.min(sampleMs, Math.max(0, loadEnd - Date.now())));
  if (batonExit) break;
  const m = await metrics();
  const sample = { t: Math.round((Date.now() - t0) / 1000), rss: rssKiB(baton.pid), fds: fdCount(baton.pid), threads: threads(baton.pid), ...m };
  samples.push(sample);
  csv.write(`${sample.t},${sample.rss},${sample.fds},${sample.threads},${sample.open},${sample['2xx']},${sample['4xx']},${sample['5xx']}\n`);
  if (samples.length % 6 === 0) log(`t=${sample.t}s rss=${(sample.rss / 1024).toFixed(1)} MiB fds=${sample.fds} open=${sample.open} 2xx=${sample['2xx']} 4xx=${sample['4xx']} 5xx=${sample['5xx']}`);
  upstreamCancels += fx.events.filter((e) => e.type === 'closed_early' && e.path.includes('gap_ms=100')).length;
  fx.reset();  // the fixture keeps a record per request otherwise
}
const results = await Promise.all(loads.map((l) => l.done));
csv.end();

// --- verdict ---------------------------------------------------------------------------------------
const problems = [];
if (batonExit) problems.push(`baton exited (${JSON.stringify(batonExit)}): ${batonErr.slice(-2000)}`);
let fdsAfter = null;
if (!batonExit) {
  for (const end = Date.now() + 15_000; Date.now() < end; await sleep(200)) {
    const m = await metrics();
    if (m.open <= 1) break;  // the /metrics request itself
  }
  fdsAfter = fdCount(baton.pid);
}
const warmIndex = samples.findIndex((s) => s.t >= Math.min(300, durationS / 6));
const warm = samples[Math.max(0, warmIndex)];
const last = samples.at(-1);
const peakAfterWarm = Math.max(...samples.slice(Math.max(0, warmIndex)).map((s) => s.rss));
const growth = warm && last ? (last.rss - warm.rss) / warm.rss : NaN;
const rssVerdict = minutes >= RSS_VERDICT_MIN_MINUTES;
if (rssVerdict && !(growth <= MAX_RSS_GROWTH)) problems.push(`RSS grew ${(growth * 100).toFixed(1)} % after warm-up (limit ${MAX_RSS_GROWTH * 100} %)`);
const fdsAtStart = samples[0]?.fds;

const rows = results.map((r) => {
  const statuses = {};
  for (const m of r.out.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) statuses[m[1]] = Number(m[2]);
  const errors = [...r.out.matchAll(/\[(\d+)\]\s+(Post|Get) [^\n]*/g)].reduce((n, m) => n + Number(m[1]), 0);
  const unexpected = Object.keys(statuses).filter((s) => !r.expect.includes(Number(s)));
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  if (unexpected.length) problems.push(`${r.name}: unexpected statuses ${unexpected.map((s) => `${s}×${statuses[s]}`).join(', ')}`);
  if (errors > 0) problems.push(`${r.name}: ${errors} client-side errors`);
  if (total === 0) problems.push(`${r.name}: no answers at all (hey exit ${r.code}: ${r.out.slice(0, 300)})`);
  if (r.cancels && upstreamCancels < total / 2) {
    problems.push(`${r.name}: only ${upstreamCancels} upstream cancels for ${total} clients that left mid-stream`);
  }
  return { name: r.name, model: r.model, rate: r.c * r.q, statuses, errors, total };
});
fs.writeFileSync(path.join(outDir, 'hey.txt'), results.map((r) => `== ${r.name}\n${r.out}`).join('\n'));

const mib = (k) => (k / 1024).toFixed(1);
const summary = [
  `Soak ${stamp}: ${minutes} min, samples every ${sampleMs / 1000} s, baton ${batonBin}, plain traffic from ${usePeerBench ? "peer-bench's nginx fixture" : 'our fixture'}`,
  rssVerdict ? '' : `(RSS growth is reported, not judged: runs under ${RSS_VERDICT_MIN_MINUTES} minutes end while SQLite's page cache still fills)\n`,
  `| RSS at ${warm?.t ?? '-'} s (warm) | RSS at end (${last?.t ?? '-'} s) | growth | peak after warm-up | fds at first sample | fds after load | threads |`,
  '|---:|---:|---:|---:|---:|---:|---:|',
  `| ${warm ? mib(warm.rss) : '-'} MiB | ${last ? mib(last.rss) : '-'} MiB | ${(growth * 100).toFixed(2)} % | ${Number.isFinite(peakAfterWarm) ? mib(peakAfterWarm) : '-'} MiB | ${fdsAtStart ?? '-'} | ${fdsAfter ?? '-'} | ${last?.threads ?? '-'} |`,
  '',
  '| stream | model | rate/s | answers | statuses | client errors |',
  '|---|---|---:|---:|---|---:|',
  ...rows.map((r) => `| ${r.name} | ${r.model} | ${r.rate} | ${r.total} | ${Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(', ') || '-'} | ${r.errors} |`),
  '',
  `fault-vanish upstream streams cancelled by baton when the client left: ${upstreamCancels}`,
  '',
  problems.length ? `PROBLEMS:\n${problems.map((p) => `- ${p}`).join('\n')}` : 'verdict: pass',
].join('\n');
fs.writeFileSync(path.join(outDir, 'summary.md'), `${summary}\n`);
console.log(summary);

baton.kill('SIGTERM');
await new Promise((r) => (batonExit ? r() : baton.once('exit', r)));
await fx.close();
if (usePeerBench) {
  try { execFileSync(path.join(PEER_BENCH, 'stop.sh'), { stdio: 'ignore' }); } catch { /* already stopped */ }
}
process.exit(problems.length ? 1 : 0);
