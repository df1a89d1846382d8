// Helpers for the governance integration tests (virtual keys, teams, limits, budgets, usage):
// a small admin API client, the `baton keys` / `baton config check` CLIs, the fixture's token
// accounting and a scripted upstream that reports cached prompt tokens.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';

import { BATON_BIN, waitFor } from './baton.mjs';
import { CLIENT_TIMEOUT_MS } from './http.mjs';

/**
 * Admin API client for `baseUrl` authenticated with `masterKey` (omit for open mode).
 *   const admin = adminClient(url, 'sk-master');  const r = await admin.post('/admin/keys', {...});
 * Every call resolves {status, headers, text, json} (never throws on an HTTP status).
 */
export function adminClient(baseUrl, masterKey) {
  const call = async (method, path, body, { auth = masterKey, headers = {} } = {}) => {
    const h = { ...headers };
    if (auth) h.authorization = `Bearer ${auth}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    call,
    get: (path, opts) => call('GET', path, undefined, opts),
    post: (path, body, opts) => call('POST', path, body, opts),
    del: (path, opts) => call('DELETE', path, undefined, opts),
  };
}

/** lowercase hex SHA-256, as the store keeps a key's secret */
export const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** The prompt_tokens the fixture reports for a chat body's messages (or an embeddings input). */
export const fixturePromptTokens = (messagesOrInput) => JSON.stringify(messagesOrInput ?? '').split(/\s+/).length;

/** USD cost of token counts at `price` (USD per million tokens), as baton computes it. */
export function costUsd(price, { input = 0, cached = 0, output = 0 }) {
  const cachedRate = price.cached_input_per_mtok > 0 ? price.cached_input_per_mtok : price.input_per_mtok;
  return ((input - cached) * price.input_per_mtok + cached * cachedRate + output * (price.output_per_mtok ?? 0)) / 1e6;
}

/** Today's UTC date as YYYY-MM-DD, shifted by `days`. */
export function utcDay(days = 0) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Run the baton binary with `args`; resolves {code, stdout, stderr} (never rejects on exit codes). */
export function runBaton(args, { timeoutMs = 20_000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    execFile(BATON_BIN, args, { timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`${BATON_BIN} ${args.join(' ')} failed to run: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err ? err.code : 0, stdout, stderr });
      });
  });
}

/** Poll GET /admin/usage (JSON) until `pred(body)` holds; returns the last body. */
export async function waitForUsage(admin, query, pred, deadlineMs = 5000, what = `usage ${query}`) {
  let last;
  try {
    return await waitFor(async () => {
      const r = await admin.get(`/admin/usage?${query}`);
      if (r.status !== 200) throw new Error(`GET /admin/usage?${query}: ${r.status} ${r.text}`);
      last = r.json;
      return pred(r.json) ? r.json : null;
    }, deadlineMs, { what, intervalMs: 50 });
  } catch (e) {
    throw new Error(`${e.message}\nlast answer: ${JSON.stringify(last)}`);
  }
}

/** Sum a numeric field over usage rows. */
export const sumRows = (rows, field) => rows.reduce((acc, r) => acc + (r[field] ?? 0), 0);
