import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';
import type { ActualState } from '../model/actual-state.js';
import type { Change } from '../model/plan.js';
import type { JournalOperation } from './journal.js';
import { landedOperations } from './landed-operations.js';

const actual: ActualState = {
  targets: [
    {
      target: 'directory',
      accounts: [
        { id: '1', name: 'ana', identity: 'E1', enabled: true, entitlements: ['directory:group/staff'] },
        { id: '2', name: 'bo', identity: 'E2', enabled: false, entitlements: [] },
        { id: '3', name: 'cy.new', identity: 'E3', enabled: true, entitlements: [], attributes: { mail: 'c@x' } },
      ],
    },
    { target: 'apps', accounts: [{ id: '9', name: 'Dee', identity: 'E4', enabled: true, entitlements: [] }] },
  ],
};
const kinds: Record<string, 'memory' | 'scim'> = { directory: 'memory', apps: 'scim' };

let id = 0;
const op = (change: Omit<Change, 'reason'>): JournalOperation => ({
  id: ++id,
  seq: id,
  change: { ...change, reason: 'r' },
  state: 'running',
  attempts: 1,
});
const landed = (ops: JournalOperation[]) =>
  landedOperations(ops, actual, (t) => kinds[t], CONNECTOR_KINDS).map((o) => `${o.change.action} ${o.change.account}`);

describe('landedOperations', () => {
  it('finds the operations whose effect the targets show, and only those', () => {
    const t = 'directory';
    assert.deepEqual(
      landed([
        op({ target: t, action: 'create_account', identity: 'E1', account: 'ana' }),
        op({ target: t, action: 'create_account', identity: 'E9', account: 'ana' }),
        op({ target: t, action: 'create_account', identity: 'E5', account: 'eve' }),
        op({
          target: t,
          action: 'add_membership',
          identity: 'E1',
          account: 'ana',
          entitlement: 'directory:group/staff',
        }),
        op({ target: t, action: 'add_membership', identity: 'E1', account: 'ana', entitlement: 'directory:group/x' }),
        op({
          target: t,
          action: 'remove_membership',
          identity: 'E1',
          account: 'ana',
          entitlement: 'directory:group/x',
        }),
        op({ target: t, action: 'disable_account', identity: 'E2', account: 'bo' }),
        op({ target: t, action: 'enable_account', identity: 'E2', account: 'bo' }),
        op({ target: t, action: 'delete_account', identity: 'E7', account: 'gone' }),
        op({ target: t, action: 'rename_account', identity: 'E3', account: 'cy', newName: 'cy.new' }),
        op({ target: t, action: 'rename_account', identity: 'E1', account: 'ana', newName: 'ana.new' }),
        op({ target: t, action: 'link_account', identity: 'E1', account: 'ana' }),
        op({ target: t, action: 'update_account', identity: 'E3', account: 'cy.new', attributes: { mail: 'c@x' } }),
        op({ target: t, action: 'update_account', identity: 'E3', account: 'cy.new', attributes: { mail: 'old' } }),
        op({ target: t, action: 'rotate_credential', identity: 'E1', account: 'ana' }),
      ]),
      [
        'create_account ana',
        'add_membership ana',
        'remove_membership ana',
        'disable_account bo',
        'delete_account gone',
        'rename_account cy',
        'link_account ana',
        'update_account cy.new',
      ],
    );
  });

  it('compares names as the kind does, and ignores targets the policy no longer has', () => {
    assert.deepEqual(
      landed([
        op({ target: 'apps', action: 'create_account', identity: 'E4', account: 'dee' }),
        op({ target: 'gone', action: 'delete_account', identity: 'E4', account: 'x' }),
      ]),
      ['create_account dee'],
    );
  });
});
