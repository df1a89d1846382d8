// Small client-side helpers shared by the integration tests. Every helper is bounded in time.
import http from 'node:http';
import OpenAI from 'openai';

export const CLIENT_TIMEOUT_MS = 15_000;

/** An official OpenAI SDK client pointed at `origin` (+ /v1), no retries, bounded timeout. */
export function openaiClient(origin, opts = {}) {
  return new OpenAI({
    apiKey: 'sk-client-dummy',
    baseURL: origin.endsWith('/v1') ? origin : `${origin}/v1`,
    maxRetries: 0,
    timeout: CLIENT_TIMEOUT_MS,
    ...opts,
  });
}

/**
 * One request on a fresh TCP connection (agent: false), via node:http so that an early answer
 * (e.g. 413 before the body was read) is still seen. Resolves {status, headers, text, json};
 * rejects on connection errors and after `timeoutMs`.
 */
export function rawRequest(url, { method = 'GET', headers = {}, body, timeoutMs = CLIENT_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body
      : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = { ...headers };
    if (payload) {
      h['content-length'] = payload.length;
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
    let settled = false;
    const done = (fn, v) => { if (!settled) { settled = true; clearTimeout(timer); fn(v); } };
    const req = http.request(url, { method, headers: h, agent: false }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('error', (e) => done(reject, e));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        done(resolve, { status: res.statusCode, headers: res.headers, text, json });
      });
    });
    const timer = setTimeout(() => { req.destroy(); done(reject, new Error(`rawRequest ${method} ${url} timed out after ${timeoutMs} ms`)); }, timeoutMs);
    req.on('error', (e) => {
      // A write error after the server already answered (early 413) is not a failure: the response wins.
      if (!req.res) done(reject, e);
    });
    if (payload) req.write(payload, () => {});
    req.end();
  });
}

/** Split a raw SSE body into its `data:` payloads (strings), in order. */
export function sseData(text) {
  return text.split(/\r?\n\r?\n/).map((ev) => ev.split(/\r?\n/)
    .filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n'))
    .filter((d) => d.length > 0);
}

/**
 * Iterate an SDK stream with a deadline. Resolves (never rejects) with
 * {chunks, content, error, timedOut, elapsedMs}. `onChunk(chunk, chunks)` may return 'stop'.
 */
export async function collectStream(stream, { deadlineMs = CLIENT_TIMEOUT_MS, onChunk } = {}) {
  const chunks = [];
  let content = '';
  let error = null;
  let timedOut = false;
  const t0 = Date.now();
  let timer;
  const deadline = new Promise((resolve) => { timer = setTimeout(() => { timedOut = true; resolve(); }, deadlineMs); });
  const consume = (async () => {
    try {
      for await (const chunk of stream) {
        chunks.push(chunk);
        content += chunk.choices?.[0]?.delta?.content ?? '';
        if (onChunk && (await onChunk(chunk, chunks)) === 'stop') break;
        if (timedOut) break;
      }
    } catch (e) { error = e; }
  })();
  await Promise.race([consume, deadline]);
  clearTimeout(timer);
  if (timedOut) stream.controller?.abort();
  return { chunks, content, error, timedOut, elapsedMs: Date.now() - t0 };
}

/** Assert-friendly view of an OpenAI-shaped error body. */
export function errorOf(json) {
  return json && typeof json === 'object' && json.error && typeof json.error === 'object' ? json.error : null;
}
