// Guards the hand-curated example in examples/acme: it is edited by hand, so these checks keep
// its ids, owners, grants and stories consistent with each other and with README.md.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { parseEntitlement } from '../model/entitlement.js';
import { loadPolicy } from '../policy/load-policy.js';
import { csvField } from './generate-organisation.js';

const folder = new URL('../../examples/acme/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, folder), 'utf8');

interface Policy {
  sources: { id: string; attributes: Record<string, { type: string }> }[];
  targets: { id: string; kind: string; connection: { snapshot: string } }[];
  entitlements: { id: string; risk: string }[];
  roles: {
    id: string;
    business_owner?: string;
    technical_owner?: string;
    when?: string;
    grants: string[];
    inherits?: string[];
  }[];
  policies: { separation_of_duties: { id: string; conflicting: string[] }[] };
}
interface Account {
  id: string;
  name: string;
  identity?: string;
  enabled: boolean;
  entitlements: string[];
}

const policy = parseYaml(read('tenure.yaml')) as Policy;
const hrText = read('hr.csv');
const people: Record<string, string>[] = parseCsv(hrText, { columns: true });
const byId = new Map(people.map((p) => [p.employee_id ?? '', p]));
const nhi = JSON.parse(read('nhi.json')) as { name: string; type: string; owner_id: string; system: string }[];
const snapshots = Object.fromEntries(
  ['directory', 'apps', 'warehouse'].map((t) => [
    t,
    (JSON.parse(read(`actual/${t}.json`)) as { accounts: Account[] }).accounts,
  ]),
);

describe('examples/acme', () => {
  it('has about 200 people, exactly 30 roles, three memory targets and about ten NHIs', () => {
    assert.ok(people.length >= 180 && people.length <= 220, `${people.length} people`);
    assert.equal(policy.roles.length, 30);
    assert.deepEqual(
      policy.targets.map((t) => [t.id, t.kind, t.connection.snapshot]),
      [
        ['directory', 'memory', 'actual/directory.json'],
        ['apps', 'memory', 'actual/apps.json'],
        ['warehouse', 'memory', 'actual/warehouse.json'],
      ],
    );
    assert.ok(nhi.length >= 8 && nhi.length <= 12);
  });

  it('names only existing people as owners and managers, in a tree', () => {
    for (const role of policy.roles) {
      assert.ok(role.business_owner && byId.has(role.business_owner), `${role.id}: business owner`);
      if (role.technical_owner) assert.ok(byId.has(role.technical_owner), `${role.id}: technical owner`);
    }
    for (const x of nhi) assert.ok(byId.has(x.owner_id), `${x.name}: owner ${x.owner_id}`);
    let roots = 0;
    for (const p of people) {
      const seen = new Set<string>();
      let at: Record<string, string> | undefined = p;
      while (at && at.manager_id) {
        assert.ok(!seen.has(at.employee_id ?? ''), `manager cycle through ${p.employee_id}`);
        seen.add(at.employee_id ?? '');
        assert.ok(byId.has(at.manager_id), `${at.employee_id}: manager ${at.manager_id} exists`);
        at = byId.get(at.manager_id);
      }
      if (!p.manager_id) roots++;
    }
    assert.equal(roots, 1);
  });

  it('grants and inherits only what it declares, without cycles', () => {
    const declared = new Set(policy.entitlements.map((e) => e.id));
    const roles = new Map(policy.roles.map((r) => [r.id, r]));
    assert.equal(roles.size, policy.roles.length, 'role ids are unique');
    for (const e of policy.entitlements) assert.ok(parseEntitlement(e.id), e.id);
    assert.ok(
      policy.entitlements.some((e) => e.risk === 'critical') && policy.entitlements.some((e) => e.risk === 'high'),
    );
    for (const role of policy.roles) {
      for (const g of role.grants) assert.ok(declared.has(g), `${role.id}: ${g} is declared`);
      for (const parent of role.inherits ?? []) assert.ok(roles.has(parent), `${role.id}: inherits ${parent}`);
    }
    const visit = (id: string, path: readonly string[]): void => {
      assert.ok(!path.includes(id), `cycle ${[...path, id].join(' -> ')}`);
      for (const parent of roles.get(id)?.inherits ?? []) visit(parent, [...path, id]);
    };
    for (const role of policy.roles) visit(role.id, []);
    assert.ok(roles.get('senior-engineer')?.inherits?.includes('engineer'));
    assert.ok(roles.get('employee-baseline')?.when?.includes('identity.kind == "employee"'));
    const sod = policy.policies.separation_of_duties.find((s) => s.id === 'payments-create-approve');
    assert.deepEqual(sod?.conflicting, ['apps:role/erp-payment-create', 'apps:role/erp-payment-approve']);
    for (const s of policy.policies.separation_of_duties) for (const c of s.conflicting) assert.ok(declared.has(c));
  });

  it('loads through the policy loader without a single diagnostic', () => {
    const loaded = loadPolicy(read('tenure.yaml'), 'examples/acme/tenure.yaml');
    assert.deepEqual(loaded.diagnostics, []);
    assert.equal(loaded.result?.rules.size, policy.roles.filter((r) => r.when !== undefined).length);
  });

  it('keeps the HR feed in RFC 4180 form with the people README.md relies on', () => {
    const records = parseCsv(hrText);
    assert.equal(records.map((r) => r.map(csvField).join(',')).join('\n') + '\n', hrText, 'quoted iff needed');
    const zoe = byId.get('E000047');
    assert.equal(zoe?.first_name, 'Zoë');
    assert.equal(zoe?.last_name, "O'Brien");
    assert.match(zoe?.title ?? '', /^Senior .*Engineer$/);
    assert.equal(byId.get('E000031')?.title, 'Manager, Accounts Payable');
    const count = (status: string): number => people.filter((p) => p.status === status).length;
    assert.equal(count('Leave'), 1);
    assert.equal(count('Pending'), 1);
    assert.ok(count('Terminated') >= 3);
    const contractors = people.filter((p) => p.worker_type === 'Contractor');
    assert.ok(contractors.length >= 5 && contractors.every((p) => p.end_date));
    const readme = read('README.md');
    for (const [id] of readme.matchAll(/\bE\d{6}\b/g)) assert.ok(byId.has(id), `README.md mentions ${id}, who exists`);
    for (const [, name] of readme.matchAll(/`((?:svc|key|tok|cert|agent)-[a-z-]+)`/g))
      assert.ok(
        nhi.some((x) => x.name === name),
        `README.md mentions ${name}, which exists`,
      );
  });

  it('has snapshots slightly drifted from the policy, as README.md describes', () => {
    const declared = new Set(policy.entitlements.map((e) => e.id));
    const identities = new Set([...byId.keys(), ...nhi.map((x) => x.name)]);
    let orphans = 0;
    for (const [target, accounts] of Object.entries(snapshots)) {
      for (const a of accounts) {
        for (const e of a.entitlements) {
          assert.ok(declared.has(e), `${target}/${a.name}: ${e}`);
          assert.equal(parseEntitlement(e)?.target, target);
        }
        if (a.identity === undefined) {
          assert.ok(!identities.has(a.name));
          orphans++;
        } else assert.ok(identities.has(a.identity), `${target}/${a.name} links to a known identity`);
      }
    }
    assert.equal(orphans, 1, 'exactly one orphan account');
    const account = (target: string, name: string): Account | undefined =>
      snapshots[target]?.find((a) => a.name === name);
    assert.equal(account('directory', 'E000136')?.enabled, true, 'a terminated person still enabled');
    assert.equal(byId.get('E000136')?.status, 'Terminated');
    assert.equal(account('directory', 'E000104'), undefined, 'the new joiner has no account yet');
    assert.ok(!account('apps', 'E000047')?.entitlements.includes('apps:role/github-maintainer'));
    assert.ok(account('apps', 'E000159')?.entitlements.includes('apps:role/erp-payment-approve'));
    assert.ok(
      nhi.some((x) => byId.get(x.owner_id)?.status === 'Terminated'),
      'an orphaned NHI',
    );
  });
});
