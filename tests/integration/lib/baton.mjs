// Harness: run the real `baton` binary with a generated config and wait until it is ready.
//
//   const b = await startBaton(config);   // config: YAML string or a plain object (rendered as YAML)
//   after(() => b.stop());
//   fetch(`${b.url}/v1/models`) ...
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = process.env.BATON_SOURCE_DIR
  ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BATON_BIN = process.env.BATON_BIN || path.join(REPO_ROOT, 'build', 'baton');

const live = new Set(); // every baton we started and that has not exited yet
process.on('exit', () => { for (const p of live) try { p.kill('SIGKILL'); } catch { /* gone */ } });

/**
 * Poll `fn` (sync or async) until it returns a truthy value; throws after `deadlineMs`. An error
 * with `fatal: true` (e.g. the process under test exited) ends the wait at once.
 */
export async function waitFor(fn, deadlineMs = 5000, { intervalMs = 20, what = 'condition' } = {}) {
  const end = Date.now() + deadlineMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if (err?.fatal) throw err;
      lastErr = err;
    }
    if (Date.now() > end) {
      throw new Error(`waitFor(${what}) timed out after ${deadlineMs} ms${lastErr ? `; last error: ${lastErr.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A TCP port that was free a moment ago (prefer `listen: 127.0.0.1:0` where possible). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Minimal YAML emitter (block style, strings double-quoted) for building configs from objects. */
export function toYaml(value, indent = '') {
  const scalar = (v) => (v === null || v === undefined ? 'null'
    : typeof v === 'string' ? JSON.stringify(v) : String(v));
  const isObj = (v) => v !== null && typeof v === 'object';
  if (Array.isArray(value)) {
    if (!value.length) return `${indent}[]\n`;
    return value.map((item) => {
      if (!isObj(item)) return `${indent}- ${scalar(item)}\n`;
      const inner = toYaml(item, `${indent}  `);
      return `${indent}- ${inner.slice(indent.length + 2)}`;
    }).join('');
  }
  if (isObj(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (!entries.length) return `${indent}{}\n`;
    return entries.map(([k, v]) => {
      if (!isObj(v)) return `${indent}${k}: ${scalar(v)}\n`;
      if (Array.isArray(v) && !v.length) return `${indent}${k}: []\n`;
      if (!Array.isArray(v) && !Object.keys(v).length) return `${indent}${k}: {}\n`;
      return `${indent}${k}:\n${toYaml(v, `${indent}  `)}`;
    }).join('');
  }
  return `${indent}${scalar(value)}\n`;
}

/**
 * Start baton with `config` (YAML string or object). Resolves once it printed
 * `baton listening on 127.0.0.1:PORT` and `GET /health/ready` answered 200.
 */
export async function startBaton(config, { env = {}, args = [], readyDeadlineMs = 20_000 } = {}) {
  if (!fs.existsSync(BATON_BIN)) throw new Error(`baton binary not found at ${BATON_BIN} (set BATON_BIN)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-it-'));
  const configPath = path.join(dir, 'baton.yaml');
  // Every baton gets its own SQLite store unless the test names one: tests never share keys or usage.
  const ownStore = `sqlite://${path.join(dir, 'baton.db')}`;
  if (typeof config === 'string') {
    if (!/^storage:/m.test(config)) config += `\nstorage:\n  url: "${ownStore}"\n`;
  } else if (!config.storage?.url) {
    config = { ...config, storage: { ...(config.storage ?? {}), url: ownStore } };
  }
  fs.writeFileSync(configPath, typeof config === 'string' ? config : toYaml(config));

  const proc = spawn(BATON_BIN, ['serve', '--config', configPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => { exitInfo = { code, signal }; live.delete(proc); resolve(exitInfo); });
  });
  proc.once('error', (e) => { err += `\n[spawn error] ${e.message}`; });

  const fail = (why) => {
    try { proc.kill('SIGKILL'); } catch { /* gone */ }
    return Object.assign(new Error(`${why}\n--- baton stdout ---\n${out}\n--- baton stderr ---\n${err}\n--- config ${configPath} ---\n${fs.readFileSync(configPath, 'utf8')}`), { fatal: true });
  };

  let port;
  try {
    port = await waitFor(() => {
      if (exitInfo) throw fail(`baton exited early (code ${exitInfo.code}, signal ${exitInfo.signal})`);
      const m = /baton listening on 127\.0\.0\.1:(\d+)/.exec(out);
      return m && Number(m[1]);
    }, readyDeadlineMs, { what: 'baton listening line', intervalMs: 25 });
  } catch (e) {
    throw e.message.startsWith('baton exited early') ? e : fail(e.message);
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (exitInfo) throw Object.assign(new Error(`baton exited (code ${exitInfo.code})`), { fatal: true });
      const r = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      return r.status === 200;
    }, readyDeadlineMs, { what: 'GET /health/ready == 200', intervalMs: 50 });
  } catch (e) {
    throw fail(e.message);
  }

  return {
    port,
    url,
    proc,
    configPath,
    dir,
    exited,
    stdout: () => out,
    stderr: () => err,
    /**
     * Throws (with the captured stderr) if baton has exited, e.g. crashed right after the last
     * test's response. Gives an exit already under way `graceMs` to be noticed.
     */
    async assertAlive(graceMs = 100) {
      if (!exitInfo) await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
      if (exitInfo || proc.exitCode !== null || proc.signalCode !== null) {
        const info = exitInfo ?? { code: proc.exitCode, signal: proc.signalCode };
        throw new Error(`baton is no longer running (exit code ${info.code}, signal ${info.signal})\n--- baton stderr (tail) ---\n${err.slice(-2000)}`);
      }
    },
    /** Send `signal`, wait for exit (SIGKILL after `deadlineMs`); resolves to the exit code (or signal name). */
    async stop(signal = 'SIGTERM', deadlineMs = 15_000) {
      if (!exitInfo) {
        try { proc.kill(signal); } catch { /* gone */ }
        const timer = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, deadlineMs);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return exitInfo.code ?? exitInfo.signal;
    },
  };
}
