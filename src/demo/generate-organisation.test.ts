import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Environment } from '@marcbachmann/cel-js';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { parseEntitlement } from '../model/entitlement.js';
import { loadPolicy } from '../policy/load-policy.js';
import { csvField, generateOrganisation, type GeneratedOrganisation } from './generate-organisation.js';

const AS_OF = new Date('2026-11-01T00:00:00Z');
const DAY = 86_400_000;

interface PolicyDoc {
  version: number;
  name: string;
  sources: { id: string; attributes: Record<string, { type: string }> }[];
  targets: { id: string; kind: string; connection: { snapshot: string } }[];
  entitlements: { id: string; risk: string; description: string }[];
  roles: {
    id: string;
    description: string;
    business_owner?: string;
    technical_owner?: string;
    when?: string;
    grants: string[];
    inherits?: string[];
    risk: string;
  }[];
  policies: {
    separation_of_duties: { id: string; conflicting: string[]; severity: string }[];
    guardrails: Record<string, unknown>;
    non_human: Record<string, unknown>;
    leaver: Record<string, unknown>;
    exceptions: Record<string, unknown>;
  };
}

type HrRow = Record<string, string>;
interface NhiRow {
  name: string;
  type: string;
  owner_id: string;
  system: string;
  created_at: string;
  expires_at: string | null;
  rotated_at: string | null;
  last_used_at: string | null;
}
interface Snapshot {
  accounts: { id: string; name: string; identity?: string; enabled: boolean; entitlements: string[] }[];
}

const cache = new Map<string, GeneratedOrganisation>();
function generate(people: number, roles: number, seed = 1): GeneratedOrganisation {
  const key = `${people}/${roles}/${seed}`;
  let org = cache.get(key);
  if (!org) {
    org = generateOrganisation({ people, roles, seed, asOf: AS_OF });
    cache.set(key, org);
  }
  return org;
}

function file(org: GeneratedOrganisation, path: string): string {
  const text = org.files[path];
  assert.ok(text !== undefined, `missing file ${path}`);
  return text;
}
const policyOf = (org: GeneratedOrganisation): PolicyDoc => parseYaml(file(org, 'tenure.yaml')) as PolicyDoc;
const peopleOf = (org: GeneratedOrganisation): HrRow[] => parseCsv(file(org, 'hr.csv'), { columns: true });
const nhiOf = (org: GeneratedOrganisation): NhiRow[] => JSON.parse(file(org, 'nhi.json')) as NhiRow[];
const snapshotOf = (org: GeneratedOrganisation, target: string): Snapshot =>
  JSON.parse(file(org, `actual/${target}.json`)) as Snapshot;

const HEADER =
  'employee_id,first_name,last_name,email,worker_type,status,department,title,location,cost_center,grade,clearances,manager_id,hire_date,start_date,end_date';

describe('generateOrganisation', () => {
  it('gives byte-identical files for the same seed and options', () => {
    const a = generateOrganisation({ people: 800, roles: 80, seed: 17, asOf: AS_OF });
    const b = generateOrganisation({ people: 800, roles: 80, seed: 17, asOf: new Date(AS_OF.getTime()) });
    assert.deepEqual(Object.keys(a.files).sort(), Object.keys(b.files).sort());
    for (const path of Object.keys(a.files)) assert.equal(a.files[path], b.files[path], path);
    assert.deepEqual(a.stats, b.stats);
  });

  it('gives a different organisation for another seed', () => {
    const a = generate(800, 80, 17);
    const b = generate(800, 80, 18);
    for (const path of ['hr.csv', 'tenure.yaml', 'nhi.json', 'actual/directory.json']) {
      assert.notEqual(a.files[path], b.files[path], `${path} should depend on the seed`);
    }
  });

  it('writes exactly the files the brief names', () => {
    assert.deepEqual(Object.keys(generate(300, 30).files).sort(), [
      'actual/apps.json',
      'actual/directory.json',
      'actual/warehouse.json',
      'hr.csv',
      'nhi.json',
      'tenure.yaml',
    ]);
  });

  for (const [people, roles] of [
    [1, 0],
    [2, 1],
    [12, 5],
    [300, 30],
    [2500, 250],
  ] as const) {
    it(`produces exactly ${people} people and ${roles} roles`, () => {
      const org = generate(people, roles);
      const rows = peopleOf(org);
      assert.equal(rows.length, people);
      assert.equal(org.stats.people, people);
      assert.equal(file(org, 'hr.csv').split('\n')[0], HEADER);
      const ids = rows.map((r) => r.employee_id ?? '');
      assert.equal(new Set(ids).size, people, 'employee ids are unique');
      const width = Math.max(6, String(people).length);
      for (const id of ids) assert.match(id, new RegExp(`^E\\d{${width}}$`));
      const policy = policyOf(org);
      assert.equal(policy.roles.length, roles);
      assert.equal(new Set(policy.roles.map((r) => r.id)).size, roles, 'role ids are unique');
      assert.equal(org.stats.roles, roles);
      assert.ok(nhiOf(org).length >= 5, 'at least five non-human identities');
    });
  }

  it('refuses impossible options', () => {
    assert.throws(() => generateOrganisation({ people: 0, roles: 1, seed: 1, asOf: AS_OF }), RangeError);
    assert.throws(() => generateOrganisation({ people: 10, roles: -1, seed: 1, asOf: AS_OF }), RangeError);
    assert.throws(() => generateOrganisation({ people: 10.5, roles: 1, seed: 1, asOf: AS_OF }), RangeError);
    assert.throws(() => generateOrganisation({ people: 10, roles: 1, seed: 1, asOf: new Date('nope') }), RangeError);
  });

  it('names only people who exist as owners and managers, in a proper tree', () => {
    const org = generate(2500, 250);
    const rows = peopleOf(org);
    const position = new Map(rows.map((r, i) => [r.employee_id ?? '', i]));
    const policy = policyOf(org);
    for (const role of policy.roles) {
      assert.ok(
        role.business_owner && position.has(role.business_owner),
        `${role.id}: business owner ${role.business_owner}`,
      );
      if (role.technical_owner !== undefined)
        assert.ok(position.has(role.technical_owner), `${role.id}: technical owner`);
    }
    assert.ok(policy.roles.some((r) => r.technical_owner !== undefined));
    const spans = new Map<string, number>();
    let roots = 0;
    rows.forEach((r, i) => {
      const manager = r.manager_id ?? '';
      if (manager === '') {
        roots++;
        return;
      }
      const at = position.get(manager);
      assert.ok(at !== undefined, `${r.employee_id}: manager ${manager} exists`);
      assert.ok(at < i, `${r.employee_id}: manager ${manager} comes earlier`);
      spans.set(manager, (spans.get(manager) ?? 0) + 1);
    });
    assert.equal(roots, 1, 'only the CEO has no manager');
    const spanList = [...spans.values()].sort((a, b) => a - b);
    assert.ok((spanList.at(-1) ?? 0) <= 12, 'no manager has more than 12 reports');
    assert.ok((spanList[Math.floor(spanList.length / 2)] ?? 0) >= 3, 'the median span is at least 3');
    for (const x of nhiOf(org)) assert.ok(position.has(x.owner_id), `${x.name}: owner ${x.owner_id}`);
  });

  it('declares inheritance without cycles, naming only declared roles', () => {
    for (const [people, roles] of [
      [300, 30],
      [5000, 600],
    ] as const) {
      const policy = policyOf(generate(people, roles));
      const byId = new Map(policy.roles.map((r) => [r.id, r]));
      const state = new Map<string, 'visiting' | 'done'>();
      const visit = (id: string, path: string[]): void => {
        if (state.get(id) === 'done') return;
        assert.notEqual(state.get(id), 'visiting', `cycle: ${[...path, id].join(' -> ')}`);
        state.set(id, 'visiting');
        for (const parent of byId.get(id)?.inherits ?? []) {
          assert.ok(byId.has(parent), `${id} inherits undeclared role ${parent}`);
          visit(parent, [...path, id]);
        }
        state.set(id, 'done');
      };
      for (const role of policy.roles) visit(role.id, []);
      assert.ok(
        policy.roles.some((r) => (r.inherits ?? []).length > 0),
        'some roles inherit',
      );
      if (roles >= 100)
        assert.ok(
          policy.roles.some((r) => r.when === undefined),
          'some roles are only inherited',
        );
    }
  });

  it('quotes CSV fields exactly as RFC 4180 asks, and csv-parse reads them back', () => {
    assert.equal(csvField("O'Brien"), "O'Brien");
    assert.equal(csvField("O'Brien, Jr."), `"O'Brien, Jr."`);
    assert.equal(csvField('Robert "Bobby"'), '"Robert ""Bobby"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\rhere'), '"cr\rhere"');
    assert.equal(csvField('Zoë'), 'Zoë');

    const text = file(generate(5000, 50), 'hr.csv');
    const records = parseCsv(text);
    assert.equal(records.length, 5001);
    for (const record of records) assert.equal(record.length, 16);
    // Re-serialising with the rule gives the same bytes: fields are quoted iff they must be.
    assert.equal(records.map((r) => r.map(csvField).join(',')).join('\n') + '\n', text);
    const names = records.slice(1).flatMap((r) => [r[1] ?? '', r[2] ?? '']);
    assert.ok(
      names.some((n) => n.includes(', ')),
      'some names hold a comma',
    );
    assert.ok(
      names.some((n) => n.includes("'")),
      'some names hold an apostrophe',
    );
    assert.ok(
      names.some((n) => /[^ -~]/.test(n)),
      'some names are not ASCII',
    );
    assert.match(text, /,"[^",]+, Jr\.",/, 'a last name with a Jr. suffix is a quoted field');
  });

  it('grants only declared entitlements, in declared targets', () => {
    const org = generate(2500, 250);
    const policy = policyOf(org);
    const declared = new Set(policy.entitlements.map((e) => e.id));
    const targets = new Set(policy.targets.map((t) => t.id));
    assert.deepEqual([...targets].sort(), ['apps', 'directory', 'warehouse']);
    for (const t of policy.targets) {
      assert.equal(t.kind, 'memory');
      assert.equal(t.connection.snapshot, `actual/${t.id}.json`);
    }
    assert.equal(declared.size, policy.entitlements.length, 'entitlement ids are unique');
    for (const e of policy.entitlements) {
      const address = parseEntitlement(e.id);
      assert.ok(address && targets.has(address.target), `${e.id} is a well-formed address in a declared target`);
      assert.ok(['low', 'medium', 'high', 'critical'].includes(e.risk));
    }
    for (const role of policy.roles) {
      assert.ok(role.grants.length >= 1 && role.grants.length <= 8, `${role.id} grants 1-8 entitlements`);
      for (const g of role.grants) assert.ok(declared.has(g), `${role.id} grants undeclared ${g}`);
    }
    assert.ok(policy.policies.separation_of_duties.length >= 2);
    for (const rule of policy.policies.separation_of_duties) {
      for (const c of rule.conflicting) assert.ok(declared.has(c), `${rule.id}: ${c} is declared`);
    }
    for (const target of targets) {
      const names = new Set<string>();
      for (const account of snapshotOf(org, target).accounts) {
        assert.ok(!names.has(account.name), `${target}: account ${account.name} appears once`);
        names.add(account.name);
        for (const e of account.entitlements) {
          assert.ok(declared.has(e), `${target}/${account.name}: ${e} is declared`);
          assert.equal(parseEntitlement(e)?.target, target);
        }
      }
    }
  });

  it('uses only the keys docs/policy.md defines', () => {
    const policy = policyOf(generate(300, 40));
    const only = (what: string, value: object, allowed: string[]): void => {
      for (const key of Object.keys(value)) assert.ok(allowed.includes(key), `${what}: unknown key ${key}`);
    };
    only('top level', policy, ['version', 'name', 'sources', 'targets', 'entitlements', 'roles', 'policies']);
    assert.equal(policy.version, 1);
    for (const s of policy.sources)
      only(`source ${s.id}`, s, [
        'id',
        'format',
        'path',
        'key',
        'kind',
        'status',
        'manager',
        'start_date',
        'end_date',
        'owner',
        'credential',
        'attributes',
      ]);
    for (const t of policy.targets)
      only(`target ${t.id}`, t, ['id', 'kind', 'description', 'account_name', 'connection']);
    for (const e of policy.entitlements) only(`entitlement ${e.id}`, e, ['id', 'risk', 'description']);
    for (const r of policy.roles)
      only(`role ${r.id}`, r, [
        'id',
        'description',
        'business_owner',
        'technical_owner',
        'when',
        'grants',
        'inherits',
        'risk',
      ]);
    only('policies', policy.policies, ['separation_of_duties', 'guardrails', 'non_human', 'leaver', 'exceptions']);
    for (const s of policy.policies.separation_of_duties)
      only(`sod ${s.id}`, s, ['id', 'description', 'conflicting', 'severity']);
  });

  it('writes rules that type-check, and its own evaluation agrees with CEL', () => {
    const org = generate(2000, 200, 5);
    const policy = policyOf(org);
    // The real loader compiles every rule against the typed attributes the sources declare.
    const loaded = loadPolicy(org.files['tenure.yaml']!, 'tenure.yaml');
    assert.deepEqual(loaded.diagnostics, []);
    const dynamic = new Environment()
      .registerVariable('identity', 'map<string, dyn>')
      .registerVariable('now', 'google.protobuf.Timestamp');

    const identities: Record<string, unknown>[] = [];
    const date = (text: string): Date => new Date(`${text}T00:00:00Z`);
    for (const r of peopleOf(org)) {
      if (r.status !== 'Active') continue;
      const identity: Record<string, unknown> = {
        id: r.employee_id,
        kind: r.worker_type === 'Employee' ? 'employee' : 'contractor',
        status: 'active',
        source: 'hr',
        department: r.department,
        grade: BigInt(r.grade ?? '0'),
        hired: date(r.hire_date ?? ''),
        start_date: date(r.start_date ?? ''),
      };
      for (const k of ['title', 'location', 'cost_center'] as const) if (r[k]) identity[k] = r[k];
      if (r.clearances) identity.clearances = r.clearances.split(';');
      if (r.manager_id) identity.manager = r.manager_id;
      if (r.end_date) identity.end_date = date(r.end_date);
      identities.push(identity);
    }
    for (const x of nhiOf(org))
      identities.push({
        id: x.name,
        kind: x.type,
        status: 'active',
        source: 'nhi',
        owner: x.owner_id,
        system: x.system,
      });

    let checked = 0;
    for (const role of policy.roles) {
      if (role.when === undefined) continue;
      assert.ok(loaded.result?.rules.has(role.id), `${role.id}: ${role.when} compiles`);
      const rule = dynamic.parse(role.when);
      let matches = 0;
      for (const identity of identities) {
        try {
          if (rule({ identity, now: AS_OF }) === true) matches++;
        } catch {
          // reading an absent attribute: the rule does not hold
        }
      }
      assert.equal(matches, org.stats.roleMatches[role.id], `${role.id}: ${role.when}`);
      checked++;
    }
    assert.ok(checked > 150);
  });

  it('writes rules in the shapes a real IAM team writes, mostly indexable', () => {
    const org = generate(20_000, 1000, 3);
    const rules = policyOf(org)
      .roles.map((r) => r.when)
      .filter((w): w is string => w !== undefined);
    const share = (re: RegExp): number => rules.filter((w) => re.test(w)).length / rules.length;
    assert.ok(share(/identity\.department == "/) > 0.4, 'department equality is common');
    assert.ok(share(/identity\.location in \[/) > 0.01, 'location lists');
    assert.ok(share(/identity\.title\.startsWith\("/) > 0.05, 'title prefixes');
    assert.ok(share(/" in identity\.clearances/) > 0.01, 'list containment');
    assert.ok(share(/ \|\| /) > 0.01, 'disjunctions');
    assert.ok(share(/ && /) > 0.3, 'conjunctions');
    assert.ok(share(/identity\.grade [<>]=/) > 0.01, 'grade comparisons');
    assert.ok(share(/\.contains\("/) > 0.01, 'substring tests');
    assert.ok(share(/^!\(|&& !\(/) > 0.005, 'negations');
    assert.ok(share(/\bnow\b/) > 0.002, 'time-based rules');
    assert.ok(rules.includes('identity.kind == "employee"'), 'a birthright role for every employee');
    const unindexed = org.stats.unindexedRoles / org.stats.roles;
    assert.ok(unindexed >= 0.04 && unindexed <= 0.12, `unindexable share ${unindexed}`);
  });

  it('models a realistic population and a slightly drifted world', () => {
    const org = generate(10_000, 300, 9);
    const rows = peopleOf(org);
    const asOf = AS_OF.getTime();
    const ratio = (f: (r: HrRow) => boolean): number => rows.filter(f).length / rows.length;
    const contractors = rows.filter((r) => r.worker_type === 'Contractor');
    assert.ok(
      contractors.length / rows.length > 0.07 && contractors.length / rows.length < 0.13,
      'about 10% contractors',
    );
    assert.ok(
      contractors.every((r) => r.end_date !== ''),
      'contractors have end dates',
    );
    assert.ok(
      contractors.some((r) => Date.parse(r.end_date ?? '') < asOf),
      'some contracts have ended',
    );
    assert.ok(
      contractors.some((r) => Date.parse(r.end_date ?? '') > asOf),
      'some contracts run on',
    );
    const terminated = ratio((r) => r.status === 'Terminated');
    assert.ok(terminated > 0.01 && terminated < 0.04, `terminated ${terminated}`);
    const leave = ratio((r) => r.status === 'Leave');
    assert.ok(leave > 0.004 && leave < 0.02, `leave ${leave}`);
    const pending = rows.filter((r) => r.status === 'Pending');
    assert.ok(pending.length / rows.length > 0.004 && pending.length / rows.length < 0.02);
    assert.ok(
      pending.every((r) => Date.parse(r.start_date ?? '') > asOf),
      'pre-hires start in the future',
    );
    assert.deepEqual([...new Set(rows.map((r) => r.status))].sort(), ['Active', 'Leave', 'Pending', 'Terminated']);
    for (const r of rows) {
      const grade = Number(r.grade);
      assert.ok(Number.isInteger(grade) && grade >= 1 && grade <= 10);
    }
    assert.ok(ratio((r) => r.clearances === '') > 0.5, 'clearances are often empty');
    assert.ok(
      rows.some((r) => (r.clearances ?? '').includes(';')),
      'some people hold several clearances',
    );
    assert.ok(new Set(rows.map((r) => r.email)).size === rows.length, 'emails are unique');

    const nhi = nhiOf(org);
    const status = new Map(rows.map((r) => [r.employee_id, r.status]));
    assert.ok(nhi.length >= Math.round(rows.length * 0.025));
    assert.deepEqual([...new Set(nhi.map((x) => x.type))].sort(), [
      'ai_agent',
      'api_key',
      'certificate',
      'service_account',
      'token',
    ]);
    assert.ok(
      nhi.some((x) => status.get(x.owner_id) === 'Terminated'),
      'some owners have left',
    );
    assert.ok(
      nhi.some((x) => x.rotated_at === null || Date.parse(x.rotated_at) < asOf - 365 * DAY),
      'some credentials are old',
    );
    for (const x of nhi) assert.ok(!Number.isNaN(Date.parse(x.created_at)));

    let orphans = 0;
    let staleEnabled = 0;
    for (const target of ['directory', 'apps', 'warehouse']) {
      for (const a of snapshotOf(org, target).accounts) {
        if (a.identity === undefined && !status.has(a.name) && !nhi.some((x) => x.name === a.name)) orphans++;
        if (a.enabled && status.get(a.identity ?? '') === 'Terminated') staleEnabled++;
      }
    }
    assert.ok(orphans >= 2, 'orphan accounts exist');
    assert.equal(orphans, org.stats.orphanAccounts);
    assert.ok(staleEnabled > 0, 'some leavers still have enabled accounts');
    const active = rows.filter((r) => r.status === 'Active').length;
    const directory = snapshotOf(org, 'directory').accounts.filter((a) => status.get(a.name) === 'Active');
    assert.ok(directory.length > active * 0.9, 'most active people have a directory account');
  });

  // Its time is a benchmark (npm run bench -- --only=generate), not a test.
  it('matches 5-20 roles per person at 100,000 people and 1,000 roles', () => {
    const org = generateOrganisation({ people: 100_000, roles: 1000, seed: 42, asOf: AS_OF });
    assert.ok(
      org.stats.averageRolesMatched >= 5 && org.stats.averageRolesMatched <= 20,
      `average ${org.stats.averageRolesMatched}`,
    );
    assert.equal(org.stats.roles, 1000);
    assert.ok(org.stats.departments >= 25 && org.stats.locations >= 35 && org.stats.costCenters >= 150);
    assert.ok(org.stats.entitlements >= 200 && org.stats.entitlements <= 600, `${org.stats.entitlements} entitlements`);
  });
});
