// What a process holds right now, from /proc: open file descriptors and resident memory. The fault
// suite uses it to prove that a fault leaves nothing behind.
import fs from 'node:fs';

/** Number of open file descriptors of `pid`. */
export function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of `pid` in KiB (VmRSS). */
export function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Samples rssKiB(pid) every `intervalMs` until stop(); stop() returns the largest value seen. */
export function sampleRss(pid, intervalMs = 25) {
  let peak = rssKiB(pid);
  const timer = setInterval(() => {
    try { peak = Math.max(peak, rssKiB(pid)); } catch { /* exited: the caller's assertAlive reports it */ }
  }, intervalMs);
  return { stop() { clearInterval(timer); try { peak = Math.max(peak, rssKiB(pid)); } catch { /* exited */ } return peak; } };
}

/**
 * The open file descriptors of `pid` split by what they are: `upstream` counts TCP sockets whose peer
 * port is in `upstreamPorts` (pooled upstream connections), `other` is everything else.
 */
export function fdsByKind(pid, upstreamPorts) {
  const peerPortByInode = new Map();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      peerPortByInode.set(cols[9], parseInt(cols[2].split(':')[1], 16));
    }
  }
  let upstream = 0;
  let other = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }  // closed meanwhile
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && upstreamPorts.includes(peerPortByInode.get(m[1]))) upstream++;
    else other++;
  }
  return { upstream, other };
}

/**
 * True when `binary` was built with ASan or TSan: its memory figures then include shadow memory and
 * quarantine, so RSS bounds do not apply (fd and behaviour checks still do).
 */
export function isSanitizedBinary(binary) {
  const bytes = fs.readFileSync(binary);
  return bytes.includes('__asan_init') || bytes.includes('__tsan_init');
}
