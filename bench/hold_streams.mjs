// Holds N concurrent open streams through baton and reports baton's RSS while they are open.
//   ulimit -n 65536; node bench/hold_streams.mjs [N=10000] [BATON_BIN=build/baton]
// Uses our fixture upstream (tests/fixture/upstream.mjs) with slow streams (1 chunk per second), so
// every stream stays open while the sample is taken. Bounded: gives up after 120 s.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startFixture } from '../tests/fixture/upstream.mjs';

const N = Number(process.argv[2] ?? 10000);
const BIN = process.env.BATON_BIN ?? 'build/baton';
const deadline = Date.now() + 120_000;
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const fixture = await startFixture(process.env.FIXTURE_PORT ? { port: Number(process.env.FIXTURE_PORT) } : {});
const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-hold-'));
const config = path.join(dir, 'baton.yaml');
writeFileSync(config, `server: { listen: "127.0.0.1:0", workers: 1, access_log: off, max_connections: ${N + 100} }
providers:
  fx: { kind: openai, base_url: "http://127.0.0.1:${fixture.port}/k/chunks=60,gap_ms=1000/v1" }
models:
  - name: m
    deployments: [ { provider: fx, model: x } ]
`);
// BATON_WRAPPER="heaptrack -o /tmp/hold" runs baton under a profiler (RSS is then the wrapper's view).
const wrapper = (process.env.BATON_WRAPPER ?? '').split(' ').filter(Boolean);
const argv = [...wrapper, BIN, 'serve', '--config', config];
// BATON_EXTERNAL=PORT: drive a baton started by hand (e.g. under heaptrack) whose model `m` points
// at FIXTURE_PORT's fixture; its RSS is then not sampled.
const external = Number(process.env.BATON_EXTERNAL ?? 0);
const baton = external ? { pid: process.pid, kill() {} } : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
// Whatever happens to this script (an exception included), the baton it started goes with it.
process.on('exit', () => baton.kill('SIGKILL'));
const port = external || await new Promise((resolve, reject) => {
  let out = '';
  baton.stdout.on('data', (d) => { out += d; const m = /listening on [\d.]+:(\d+)/.exec(out); if (m) resolve(Number(m[1])); });
  baton.on('exit', (code) => reject(new Error(`baton exited ${code}`)));
});
const idleRss = rssMb(baton.pid);

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
let firstChunk = 0, failed = 0;
const requests = [];
for (let i = 0; i < N; i++) {
  const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    let counted = false;
    res.on('data', () => { if (!counted) { counted = true; firstChunk++; } });
    res.on('error', () => {});
  });
  req.on('error', () => { failed++; });
  req.end(body);
  requests.push(req);
  if (i % 500 === 499) await new Promise((r) => setTimeout(r, 50));  // pace the connects
}
while (firstChunk + failed < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
const heldRss = rssMb(baton.pid);
const fds = (await import('node:fs')).readdirSync(`/proc/${baton.pid}/fd`).length;
console.log(JSON.stringify({ streams: N, open_with_first_chunk: firstChunk, failed, baton_idle_rss_mb: +idleRss.toFixed(1),
  baton_rss_mb_with_streams_open: +heldRss.toFixed(1), baton_fds: fds }));
// HOLD_AFTER_MS keeps the streams open after the sample (e.g. to kill -9 a profiled baton while
// they are: heaptrack then lists what the open streams hold as "leaked").
await new Promise((r) => setTimeout(r, Number(process.env.HOLD_AFTER_MS ?? 0)));
for (const r of requests) r.destroy();
baton.kill('SIGTERM');
await fixture.close();
process.exit(firstChunk === N ? 0 : 1);
