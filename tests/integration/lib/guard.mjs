// Helpers for the PII guard's end-to-end tests (guard_e2e.test.mjs): the labelled corpus, a
// scripted SSE upstream, placeholder alignment, Prometheus counters and access-log polling.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO_ROOT, waitFor } from './baton.mjs';

export const CORPUS_PATH = process.env.BATON_GUARD_CORPUS ?? path.join(REPO_ROOT, 'tests', 'guard', 'corpus.jsonl');

/** Placeholders as the guard issues them: `[` TYPE `_` N `]`. */
export const PLACEHOLDER_RE = /\[[A-Z][A-Z_]*_[1-9][0-9]*\]/g;

/**
 * The labelled corpus: [{index, text, findings: [{type, start, end, value}]}], offsets being
 * UTF-8 byte offsets into `text` (value = those bytes, decoded).
 */
export function loadCorpus(file = CORPUS_PATH) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((line, index) => {
    const c = JSON.parse(line);
    const bytes = Buffer.from(c.text, 'utf8');
    const findings = c.findings.map((f) => ({ ...f, value: bytes.subarray(f.start, f.end).toString('utf8') }));
    return { index, text: c.text, findings };
  });
}

/**
 * The forms of a PII value a leak check looks for: the value itself and, when it has at least
 * `minDigits` digits, its digits-only form (a value re-formatted without separators is a leak too).
 */
export function leakForms(value, minDigits = 7) {
  const forms = [value];
  const digits = value.replace(/[^0-9]/g, '');
  if (digits.length >= minDigits && digits !== value) forms.push(digits);
  // Full-width digits fold to ASCII in the detector: also look for the ASCII spelling.
  const ascii = value.replace(/[\uFF01-\uFF5E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xFEE0));
  if (ascii !== value) forms.push(ascii);
  return forms;
}

/** The first of `forms` found in `haystack`, or null. */
export function findLeak(haystack, forms) {
  for (const f of forms) if (f && haystack.includes(f)) return f;
  return null;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Aligns a redacted text with its original: every placeholder in `redacted` must stand for a
 * non-empty run of `original`, everything else must be equal. Returns
 * {map: Map(placeholder -> value), order: [placeholders in order of appearance]} or null when the
 * two texts do not align, or one placeholder would stand for two different values.
 */
export function alignPlaceholders(original, redacted) {
  const order = redacted.match(PLACEHOLDER_RE) ?? [];
  const literals = redacted.split(PLACEHOLDER_RE);
  const re = new RegExp(`^${literals.map(escapeRe).join('(.+?)')}$`, 's');
  const m = re.exec(original);
  if (!m) return null;
  const map = new Map();
  for (let i = 0; i < order.length; i++) {
    const v = m[i + 1];
    if (map.has(order[i]) && map.get(order[i]) !== v) return null;
    map.set(order[i], v);
  }
  return { map, order };
}

/** `text` with every placeholder in `map` replaced by its value (others left alone). */
export function restoreWith(text, map) {
  return text.replace(PLACEHOLDER_RE, (p) => (map.has(p) ? map.get(p) : p));
}

/** Run `fn(item, i)` over `items` with at most `concurrency` in flight; resolves the results in order. */
export async function pool(items, concurrency, fn) {
  const out = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Prometheus text -> Map('name{label="v",...}' with labels sorted -> number). */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = m[2] ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => `${x[1]}="${x[2]}"`).sort() : [];
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

/** The key parseMetrics uses for `name` with `labels` ({k: v}). */
export function metricKey(name, labels = {}) {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`;
}

/** Access-log records (parsed JSON lines) of `file`; lines that do not parse are kept as {raw}. */
export function readAccessLog(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l); } catch { return { raw: l }; }
  });
}

/** Polls the access log until every id in `ids` has a line; resolves Map(id -> record). */
export async function waitForLogLines(file, ids, deadlineMs = 5000) {
  return waitFor(() => {
    const byId = new Map(readAccessLog(file).filter((r) => r.request_id).map((r) => [r.request_id, r]));
    return ids.every((id) => byId.has(id)) ? byId : null;
  }, deadlineMs, { what: `access log lines for ${ids.join(', ')}`, intervalMs: 50 });
}

/**
 * A tiny OpenAI-shaped upstream whose answer is scripted per request by a body field
 * `script: {chunks: [...], finish_in_last?: bool, tool_args?: [...]}`: a stream sends each string of
 * `chunks` as the `delta.content` of its own SSE event (then a finishing chunk and [DONE]; with
 * finish_in_last the last content chunk carries finish_reason itself), a non-stream answer their
 * concatenation. With `tool_args` the answer is one tool call (`send`) instead, its arguments
 * streamed in those pieces. With `deltas: [[choice, content], ...]` (n > 1) each pair is one event
 * for that choice, then one finishing event per choice.
 * Records every request as {path, headers, raw, body}.
 */
export async function startScriptedUpstream() {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8');
      let body = null;
      try { body = JSON.parse(raw); } catch { /* recorded as raw */ }
      requests.push({ path: req.url, headers: req.headers, raw, body });
      const chunks = body?.script?.chunks ?? ['scripted'];
      const toolArgs = body?.script?.tool_args; // chunks of one tool call's arguments string
      const id = `chatcmpl-scripted-${requests.length}`;
      if (!body?.stream) {
        const message = { role: 'assistant', content: toolArgs ? null : chunks.join('') };
        if (toolArgs) message.tool_calls = [{ id: 'call_s1', type: 'function', function: { name: 'send', arguments: toolArgs.join('') } }];
        const text = JSON.stringify({ id, object: 'chat.completion', created: 1700000000, model: body?.model,
          choices: [{ index: 0, message, finish_reason: toolArgs ? 'tool_calls' : 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: chunks.length, total_tokens: 1 + chunks.length } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      const frame = (delta, finish = null) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1700000000,
        model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      const finishInLast = Boolean(body.script?.finish_in_last);
      const deltas = body.script?.deltas; // [[choice index, content], ...] for n > 1
      const frames = deltas
        ? deltas.map(([index, content]) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1700000000,
          model: body.model, choices: [{ index, delta: { content }, finish_reason: null }] })}\n\n`)
        : toolArgs
        ? toolArgs.map((a, i) => frame(i === 0
          ? { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_s1', type: 'function', function: { name: 'send', arguments: a } }] }
          : { tool_calls: [{ index: 0, function: { arguments: a } }] }))
        : chunks.map((c, i) => frame(i === 0 ? { role: 'assistant', content: c } : { content: c },
          finishInLast && i === chunks.length - 1 ? 'stop' : null));
      if (deltas) {
        for (const index of new Set(deltas.map(([i]) => i))) {
          frames.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1700000000, model: body.model,
            choices: [{ index, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        }
      } else if (toolArgs) frames.push(frame({}, 'tool_calls'));
      else if (!finishInLast) frames.push(frame({}, 'stop'));
      frames.push('data: [DONE]\n\n');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      (async () => {
        for (const f of frames) {
          if (res.destroyed) return;
          await new Promise((resolve) => res.write(f, resolve)); // one write per event: separate TCP segments
          await new Promise((r) => setTimeout(r, 5));
        }
        res.end();
      })();
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address();
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => { server.close(() => resolve()); for (const s of sockets) s.destroy(); }),
  };
}
