import { after, describe } from 'node:test';
import { TARGET_KINDS } from '../../src/connectors/kinds.js';
import { connectorContract } from './connector-contract.js';
import { CONTRACT_FIXTURES, stopAll } from './fixtures/index.js';

// The one contract suite, looped over the connector registry. Kinds run at the same time (each has its own server);
// the tests of one fixture stay in order.
describe('connector contract', { concurrency: true }, () => {
  after(stopAll);
  for (const kind of TARGET_KINDS) {
    for (const f of CONTRACT_FIXTURES[kind]) connectorContract(f.name, () => f.open(), f.options);
  }
});
