// The setup most integration files share: one fixture upstream, one baton on the standard config,
// one SDK client; a crash shows up on the test that caused it; both processes stop at the end.
import { before, after, afterEach } from 'node:test';

import { startFixture } from '../../fixture/upstream.mjs';
import { startBaton } from './baton.mjs';
import { standardConfig } from './config.mjs';
import { openaiClient } from './http.mjs';

/** Registers the hooks; `onReady({fx, baton, client})` runs once everything is up. */
export function useStandardGateway(onReady, configOptions) {
  let fx;
  let baton;
  before(async () => {
    fx = await startFixture();
    baton = await startBaton(standardConfig(fx, configOptions));
    onReady({ fx, baton, client: openaiClient(baton.url) });
  });
  afterEach(() => baton?.assertAlive());
  after(async () => {
    await baton?.stop();
    await fx?.close();
  });
}
