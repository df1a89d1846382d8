// baton configs used by the integration tests (rendered to YAML by startBaton).

export const UPSTREAM_KEY = 'sk-upstream-secret';

/**
 * The standard test config against fixture `fx`:
 *   fx   -> the fixture;  slow -> fixture with delay_ms=3000 and first_token_ms 500;  dead -> port 1.
 *   gpt-test -> fx/upstream-model-id, embed-test -> fx/upstream-embed-id,
 *   slow-model -> slow/upstream-model-id, dead-model -> dead/upstream-model-id.
 */
// These models make one attempt per request and never trip their breaker, so each test sees the
// upstream's behaviour directly; routing.test.mjs covers retries, failover and breakers.
const SINGLE_ATTEMPT = { retry: { max_attempts: 1 }, breaker: { consecutive_failures: 1000, failure_ratio: 0 } };

export function standardConfig(fx, { server = {}, providers = {}, models = [] } = {}) {
  return {
    server: { listen: '127.0.0.1:0', workers: 2, max_body_bytes: 1048576, ...server },
    providers: {
      fx: { kind: 'openai', base_url: fx.baseUrl, api_key: UPSTREAM_KEY },
      slow: { kind: 'openai', base_url: fx.url({ delay_ms: 3000 }), api_key: UPSTREAM_KEY, timeouts: { first_token_ms: 500 } },
      dead: { kind: 'openai', base_url: 'http://127.0.0.1:1/v1', api_key: UPSTREAM_KEY },
      ...providers,
    },
    models: [
      { name: 'gpt-test', deployments: [{ provider: 'fx', model: 'upstream-model-id' }], ...SINGLE_ATTEMPT },
      { name: 'embed-test', deployments: [{ provider: 'fx', model: 'upstream-embed-id' }], ...SINGLE_ATTEMPT },
      { name: 'slow-model', deployments: [{ provider: 'slow', model: 'upstream-model-id' }], ...SINGLE_ATTEMPT },
      { name: 'dead-model', deployments: [{ provider: 'dead', model: 'upstream-model-id' }], ...SINGLE_ATTEMPT },
      ...models,
    ],
  };
}

export const MODEL_NAMES = ['gpt-test', 'embed-test', 'slow-model', 'dead-model'];
