import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';

// The commands a newcomer runs in the README's tour, against examples/acme, checked for what a
// user reads in their output. The tests own their store: a fresh one in a temporary folder, never
// the one the tour itself leaves behind (nor one next to the example).
const acme = ['-c', 'examples/acme/tenure.yaml', '--state', join(folder({}), 'state.db'), '--as-of', '2026-11-01'];

describe('tenure on examples/acme', () => {
  it('validates the example', async () => {
    const r = await tenure(...acme, 'validate');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid — 30 roles, \d+ entitlements, 3 targets, \d+ rules compiled\./);
    assert.match(r.stdout, /source hr: 200 identities from 200 rows/);
    assert.match(r.stdout, /source nhi: 10 identities from 10 rows/);
  });

  it('explains why a senior engineer has what she has, inheritance included', async () => {
    const r = await tenure(...acme, 'why', 'E000047');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^E000047 \(employee, active, from source hr\)$/m);
    assert.match(
      r.stdout,
      /senior-engineer: identity\.department == "Engineering" && .*startsWith\("Senior"\)\n\s+because department = "Engineering", kind = "employee", title = "Senior Software Engineer"/,
    );
    assert.match(
      r.stdout,
      /apps:role\/github-user ← role "engineer" inherits "developer-tools"; role "senior-engineer" inherits "engineer", which inherits "developer-tools"/,
    );
  });

  it('explains one entitlement, and why another is not granted', async () => {
    const yes = await tenure(...acme, 'why', 'E000047', 'apps:role/github-maintainer');
    assert.match(
      yes.stdout,
      /apps:role\/github-maintainer: role "senior-engineer" grants it;\n\s+rule .*\n\s+holds because department = "Engineering"/,
    );
    const no = await tenure(...acme, 'why', 'E000047', 'apps:role/erp-payment-approve');
    assert.equal(no.code, 0);
    assert.match(no.stdout, /E000047 does not get apps:role\/erp-payment-approve\./);
    assert.match(
      no.stdout,
      /role "finance-payments-approver" would grant it, but its rule .* does not hold \(department = "Engineering"/,
    );
  });

  it('says plainly that an identity is not active', async () => {
    const r = await tenure(...acme, 'why', 'E000141');
    assert.match(r.stdout, /E000141 starts on 2026-11-16: access from roles is not due yet\./);
    const one = await tenure(...acme, 'why', 'E000141', 'apps:role/github-user');
    assert.match(
      one.stdout,
      /role "engineer" \(via developer-tools\) would grant it, but its rule .* holds, yet E000141 is pre_hire/,
    );
  });

  it('refuses an unknown identity or entitlement with a suggestion', async () => {
    const id = await tenure(...acme, 'why', 'E00047');
    assert.equal(id.code, 1);
    assert.match(id.stderr, /tenure: no identity "E00047" in the sources/);
    const ent = await tenure(...acme, 'who-has', 'apps:role/github-usr');
    assert.equal(ent.code, 1);
    assert.match(ent.stderr, /did you mean "apps:role\/github-user"\?/);
  });

  it('lists who holds the payment approval role, and why', async () => {
    const r = await tenure(...acme, 'who-has', 'apps:role/erp-payment-approve');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apps:role\/erp-payment-approve \(critical risk, .*\): 3 identities$/m);
    assert.match(
      r.stdout,
      /E000031: role "finance-payments-approver" \(department = "Finance", title = "Manager, Accounts Payable"\)/,
    );
    const json = JSON.parse((await tenure(...acme, '--json', 'who-has', 'apps:role/erp-payment-approve')).stdout) as {
      count: number;
      holders: { identity: string; provenance: { role: string; rule: string; inputs: Record<string, unknown> }[] }[];
    };
    assert.equal(json.count, 3);
    assert.deepEqual(json.holders[2]!.provenance[0]!.inputs, {
      department: 'Finance',
      title: 'Manager, Accounts Payable',
    });
  });

  it('plans the changes with reasons, and the same plan as JSON and Markdown', async () => {
    const text = await tenure(...acme, 'plan', '--limit', '1000');
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /\+ E000047: add apps:role\/github-maintainer — role "senior-engineer" grants it, because department = "Engineering", kind = "employee", title = "Senior Software Engineer"/,
    );
    assert.match(text.stdout, /- E000136: disable account — E000136 is terminated/);
    assert.match(text.stdout, /\(1 account\(s\) no identity explains: left alone; see drift\)/);
    const dir = folder({});
    const out = join(dir, 'plan.json');
    const json = await tenure(...acme, '--json', 'plan', '--out', out);
    const doc = JSON.parse(json.stdout) as {
      plan: { summary: { changes: number }; targets: { changes: { identity: string; action: string }[] }[] };
    };
    assert.ok(existsSync(out));
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), doc.plan);
    assert.match(text.stdout, new RegExp(`^Summary: ${doc.plan.summary.changes} change\\(s\\)`, 'm'));
    const e104 = doc.plan.targets.flatMap((t) => t.changes).filter((c) => c.identity === 'E000104');
    assert.equal(
      e104.filter((c) => c.action === 'create_account').length,
      3,
      'the new joiner gets an account in each target',
    );
    const md = await tenure(...acme, 'plan', '--format', 'markdown');
    assert.match(md.stdout, /^### Tenure plan — Acme Corporation$/m);
    assert.match(md.stdout, /^\| directory \| 199 \|/m);
  });

  it('writes a reproducible synthetic organisation that validates', async () => {
    const a = folder({});
    const b = folder({});
    assert.equal(
      (
        await tenure(
          '--as-of',
          '2026-11-01',
          'demo',
          'generate',
          '--people',
          '300',
          '--roles',
          '40',
          '--seed',
          '9',
          '--out',
          a,
        )
      ).code,
      0,
    );
    assert.equal(
      (
        await tenure(
          '--as-of',
          '2026-11-01',
          'demo',
          'generate',
          '--people',
          '300',
          '--roles',
          '40',
          '--seed',
          '9',
          '--out',
          b,
        )
      ).code,
      0,
    );
    for (const f of ['tenure.yaml', 'hr.csv', 'nhi.json', 'actual/directory.json']) {
      assert.equal(
        readFileSync(join(a, f), 'utf8'),
        readFileSync(join(b, f), 'utf8'),
        `${f} differs between runs with one seed`,
      );
    }
    const v = await tenure('-c', join(a, 'tenure.yaml'), '--as-of', '2026-11-01', 'validate');
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /valid — 40 roles/);
    assert.match(v.stdout, /source hr: 300 identities from 300 rows/);
  });
});
