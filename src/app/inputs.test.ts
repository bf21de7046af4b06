import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConnectorError, type Connector } from '../connectors/connector.js';
import { MemoryConnector } from '../connectors/memory/memory-connector.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { UserError } from './errors.js';
import { openActualState } from './inputs.js';

// Reading the targets for a plan rides out a throttled or briefly failing target, as the executor does.
function flaky(failures: ConnectorError[]): { connector: Connector; calls: () => number } {
  const inner = new MemoryConnector('apps', [{ id: '1', name: 'ana', enabled: true, entitlements: [] }]);
  let calls = 0;
  const connector = new Proxy(inner, {
    get(target, key) {
      if (key === 'listAccounts')
        return () => {
          const e = failures[calls++];
          return e ? Promise.reject(e) : target.listAccounts();
        };
      return Reflect.get(target, key, target) as unknown;
    },
  });
  return { connector, calls: () => calls };
}
const loaded = {} as LoadedPolicy; // not read when the connectors are given

describe('openActualState', () => {
  it('tries a retryable error again, after the Retry-After the target asked for', async () => {
    const { connector, calls } = flaky([
      new ConnectorError('apps', 'rate_limited', 'slow down', undefined, 300),
      new ConnectorError('apps', 'internal', 'HTTP 500'),
    ]);
    const waits: number[] = [];
    const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
    const actual = await openActualState(loaded, undefined, new Map([['apps', connector]]), sleep);
    assert.equal(actual.targets[0]!.accounts.length, 1);
    assert.equal(calls(), 3);
    // 300 ms as the target asked (more than the first backoff of 250 ms), then the second backoff.
    assert.deepEqual(waits, [300, 500], 'waited for Retry-After, then backed off');
  });

  it('gives up at once on an error that retrying cannot fix, naming the target once', async () => {
    const { connector, calls } = flaky([new ConnectorError('apps', 'permission_denied', 'target "apps": forbidden')]);
    await assert.rejects(openActualState(loaded, undefined, new Map([['apps', connector]])), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, 'target "apps": forbidden');
      return true;
    });
    assert.equal(calls(), 1);
  });
});
