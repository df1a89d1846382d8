// Real PostgreSQL and Redis servers for integration tests: each on a free port, in its own temp
// directory, waited for by polling with deadlines (never a fixed sleep), gone at process exit.
//
//   const pg = await startPostgres();  // {url, port, dir, pause(), resume(), stop(), query(sql)}
//   const redis = await startRedis();  // {url, port, pid, stop(), start(), pause(), resume(), command(...)}
//
// PostgreSQL refuses to run as root: when the tests run as root (here and in CI), initdb, pg_ctl
// and createdb run as the `postgres` user (runuser) in a temp dir owned by it.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './baton.mjs';

const INSTALL_HINT = 'install them with `scripts/install-deps.sh test` (its test level has postgresql and redis-server)';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a command to completion; rejects with its output when it fails or outlives `timeoutMs`. */
function run(cmd, args, { timeoutMs = 60_000, cwd, asPostgres = false } = {}) {
  const [file, argv] = asPostgres && isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs, cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${[file, ...argv].join(' ')} failed (${err.killed ? `killed after ${timeoutMs} ms` : `exit ${err.code}`})\n`
          + `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

function signal(pid, sig) {
  try { process.kill(pid, sig); return true; } catch { return false; }
}

function isAlive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

// A test run ended by a signal (Ctrl-C, the runner's timeout) skips 'exit' handlers and would leave
// the daemonized postmaster running: turn SIGINT / SIGTERM into an exit so every cleanup runs.
let signalsHooked = false;
function exitOnSignals() {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(sig, () => process.exit(code));
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** The bin directory of the highest PostgreSQL version installed under /usr/lib/postgresql. */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  let versions = [];
  try { versions = fs.readdirSync(root); } catch { /* not installed */ }
  const dirs = versions
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')) && fs.existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  if (!dirs.length) throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found under ${root}: ${INSTALL_HINT}`);
  return path.join(root, dirs[0], 'bin');
}

const livePostgres = new Set(); // {pids(): number[], dir}
process.on('exit', () => {
  // Immediate shutdown (SIGQUIT to the postmaster) of anything a crashed test left running.
  for (const pg of livePostgres) {
    for (const pid of pg.stopped) signal(pid, 'SIGCONT');
    if (pg.postmasterPid) signal(pg.postmasterPid, 'SIGQUIT');
    try { fs.rmSync(pg.dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

/**
 * initdb + pg_ctl start + createdb baton, on a free port, trust auth, no fsync.
 * Resolves {url: postgresql://baton@127.0.0.1:PORT/baton, port, dir, stop(), pause(), resume(), query(sql)}.
 */
export async function startPostgres({ deadlineMs = 60_000 } = {}) {
  const bin = postgresBinDir();
  exitOnSignals();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  const state = { dir, postmasterPid: 0, stopped: [] };
  if (isRoot) {
    const uid = Number((await run('id', ['-u', 'postgres']).catch(() => { throw new Error(`no 'postgres' user to run PostgreSQL as: ${INSTALL_HINT}`); })).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    fs.chownSync(dir, uid, gid);
  }
  const pgRun = (cmd, args, timeoutMs = deadlineMs) => run(path.join(bin, cmd), args, { timeoutMs, cwd: dir, asPostgres: true });
  const psql = path.join(bin, 'psql');

  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'baton', '--no-sync', '-E', 'UTF8', '--locale=C']);
  livePostgres.add(state);

  // The port was free a moment ago; another process may take it before the postmaster binds it.
  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', String(Math.ceil(deadlineMs / 1000)), 'start',
        '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -F`]);
      break;
    } catch (e) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
      if (attempt >= 3 || !/could not bind|Address already in use/i.test(tail)) {
        livePostgres.delete(state);
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(`${e.message}\n--- postgres.log ---\n${tail}`);
      }
    }
  }
  state.postmasterPid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  await pgRun('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'baton', 'baton']);

  const url = `postgresql://baton@127.0.0.1:${port}/baton`;
  let paused = false;
  let stoppedForGood = false;

  async function children(pid) {
    // pgrep exits 1 when there are none.
    const out = await run('pgrep', ['-P', String(pid)]).catch(() => '');
    return out.split(/\s+/).filter(Boolean).map(Number);
  }

  const pg = {
    url,
    port,
    dir,
    log,
    get postmasterPid() { return state.postmasterPid; },
    /** Rows of `sql` as arrays of strings (psql -At, fields split on '|'). */
    async query(sql) {
      const out = await run(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'baton', '-d', 'baton', '-At', '-X',
        '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeoutMs: 30_000, cwd: dir });
      return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('|'));
    },
    /** SIGSTOP the postmaster first (no new backends), then every child it has. */
    async pause() {
      if (paused) return;
      const pm = state.postmasterPid;
      if (!signal(pm, 'SIGSTOP')) throw new Error(`postgres: cannot SIGSTOP postmaster ${pm}`);
      state.stopped = [pm];
      paused = true;
      for (const pid of await children(pm)) if (signal(pid, 'SIGSTOP')) state.stopped.push(pid);
    },
    /** SIGCONT everything pause() stopped, children first. */
    async resume() {
      if (!paused) return;
      for (const pid of [...state.stopped].reverse()) signal(pid, 'SIGCONT');
      state.stopped = [];
      paused = false;
    },
    async stop() {
      if (stoppedForGood) return;
      stoppedForGood = true;
      await pg.resume();
      try {
        await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000);
      } catch {
        signal(state.postmasterPid, 'SIGQUIT');
        await waitFor(() => !isAlive(state.postmasterPid), 10_000, { what: 'postmaster exit' }).catch(() => signal(state.postmasterPid, 'SIGKILL'));
      }
      livePostgres.delete(state);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return pg;
}

// ---------------------------------------------------------------------------------------------
// Redis

function redisServerBin() {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin', '/usr/sbin'])) {
    const p = path.join(d || '.', 'redis-server');
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  throw new Error(`redis-server not found on PATH: ${INSTALL_HINT}`);
}

function encodeCommand(args) {
  return `*${args.length}\r\n${args.map((a) => { const s = String(a); return `$${Buffer.byteLength(s)}\r\n${s}\r\n`; }).join('')}`;
}

/** Parses one RESP reply from `buf` at `pos`; returns [value, nextPos] or null when incomplete. */
function parseReply(buf, pos = 0) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = buf[pos];
  const line = buf.slice(pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return [line, next];
    case '-': return [new Error(line), next];
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.slice(next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default: throw new Error(`redis: unexpected reply ${JSON.stringify(buf.slice(pos, pos + 40))}`);
  }
}

/** One command on a fresh connection to 127.0.0.1:port; resolves its reply (an Error value for -ERR). */
export function redisCommand(port, args, { timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${args[0]} on ${port}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(encodeCommand(args)));
    sock.on('data', (d) => {
      buf += d;
      let r;
      try { r = parseReply(buf); } catch (e) { clearTimeout(timer); sock.destroy(); reject(e); return; }
      if (r) { clearTimeout(timer); sock.end(); resolve(r[0]); }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

const liveRedis = new Set(); // child processes
const redisDirs = new Set();
process.on('exit', () => {
  for (const p of liveRedis) { try { p.kill('SIGCONT'); p.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of redisDirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ } }
});

/**
 * redis-server on a free port (no persistence). Resolves
 * {url: redis://127.0.0.1:PORT/0, port, pid, stop(), start() (same port again), pause(), resume(), command(...args)}.
 */
export async function startRedis({ deadlineMs = 10_000 } = {}) {
  const bin = redisServerBin();
  exitOnSignals();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-redis-'));
  redisDirs.add(dir);
  let port = 0;
  let proc = null;
  let output = '';
  let paused = false;

  async function launch() {
    output = '';
    const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    liveRedis.add(child);
    let exitInfo = null;
    child.exited = new Promise((resolve) => child.once('exit', (code, sig) => {
      exitInfo = { code, sig };
      liveRedis.delete(child);
      resolve(exitInfo);
    }));
    child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    child.once('error', (e) => { output += `\n[spawn error] ${e.message}`; });
    // Poll PING until it answers; stop at once when the server exited (port taken, bad option).
    const end = Date.now() + deadlineMs;
    let lastErr = null;
    for (;;) {
      if (exitInfo) {
        throw new Error(`redis-server exited (code ${exitInfo.code}, signal ${exitInfo.sig})\n--- redis-server output ---\n${output.slice(-2000)}`);
      }
      try {
        if ((await redisCommand(port, ['PING'], { timeoutMs: 500 })) === 'PONG') break;
      } catch (e) { lastErr = e; }
      if (Date.now() > end) {
        try { child.kill('SIGKILL'); } catch { /* gone */ }
        throw new Error(`redis-server on ${port} did not answer PING within ${deadlineMs} ms (${lastErr?.message})\n--- redis-server output ---\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    proc = child;
  }

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/i.test(e.message)) {
        fs.rmSync(dir, { recursive: true, force: true });
        redisDirs.delete(dir);
        throw e;
      }
    }
  }

  const redis = {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    get pid() { return proc?.pid ?? 0; },
    get running() { return proc !== null; },
    output: () => output,
    command: (...args) => redisCommand(port, args),
    /** Stops the server (SIGTERM, SIGKILL after a deadline); data is gone (no persistence). */
    async stop({ final = false } = {}) {
      const child = proc;
      if (child) {
        proc = null;
        if (paused) { child.kill('SIGCONT'); paused = false; }
        child.kill('SIGTERM');
        const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
        await child.exited;
        clearTimeout(timer);
      }
      if (final) {
        fs.rmSync(dir, { recursive: true, force: true });
        redisDirs.delete(dir);
      }
    },
    /** Starts it again on the same port (after stop()). */
    async start() {
      if (proc) return;
      // The listening socket is gone once the process exited; a few retries cover a slow release.
      for (let attempt = 1; ; attempt++) {
        try {
          await launch();
          return;
        } catch (e) {
          if (attempt >= 5 || !/Address already in use/i.test(e.message)) throw e;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    },
    pause() {
      if (!proc || paused) return;
      proc.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (!proc || !paused) return;
      proc.kill('SIGCONT');
      paused = false;
    },
  };
  return redis;
}
