import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { folder, tenure } from './cli-harness.js';

// `tenure report compliance` on examples/acme, after an import into a throwaway store, as an
// auditor reads it: the three formats, the separation-of-duties story as evidence against
// PR.AA-05, honest "not covered" rows, and a report without the targets.

interface ControlJson {
  id: string;
  framework: string;
  status: 'met' | 'attention' | 'not_covered';
  reason: string;
  evidence: { id: string; state: string; detail: string }[];
  findings: {
    total: number;
    byCode: Record<string, number>;
    examples: { code: string; severity: string; subject: string; message: string }[];
  };
  notes: string[];
}

interface ReportJson {
  formatVersion: number;
  policy: string;
  asOf: string;
  checked: { lint: boolean; drift: boolean; store: boolean };
  notes: string[];
  summary: {
    controls: number;
    met: number;
    attention: number;
    notCovered: number;
    findings: { total: number; byCode: Record<string, number> };
  };
  controls: ControlJson[];
  unmapped: { total: number };
}

function control(r: ReportJson, id: string): ControlJson {
  const c = r.controls.find((x) => x.id === id);
  assert.ok(c, `no control ${id} in the report`);
  return c;
}

describe('tenure report compliance', () => {
  let state = '';
  const acme = (): string[] => ['-c', 'examples/acme/tenure.yaml', '--as-of', '2026-11-01', '--state', state];

  before(async () => {
    state = join(folder({}), 'state.db');
    const r = await tenure(...acme(), 'import');
    assert.equal(r.code, 0, r.stderr);
  });

  it('shows the separation-of-duties conflict as evidence that PR.AA-05 needs attention (JSON)', async () => {
    const r = await tenure(...acme(), 'report', 'compliance', '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as ReportJson;
    assert.deepEqual([json.formatVersion, json.policy, json.asOf], [1, 'Acme Corporation', '2026-11-01T00:00:00.000Z']);
    assert.deepEqual(json.checked, { lint: true, drift: true, store: true });
    assert.equal(json.unmapped.total, 0);

    const aa05 = control(json, 'PR.AA-05');
    assert.equal(aa05.status, 'attention');
    assert.equal(aa05.findings.byCode['sod.identity_conflict'], 1);
    const sod = aa05.findings.examples.find((f) => f.code === 'sod.identity_conflict');
    assert.deepEqual(sod && [sod.severity, sod.subject], ['critical', 'identity:E000031']);
    assert.match(
      sod!.message,
      /erp-payment-approve .* and apps:role\/erp-payment-create .* \(rule payments-create-approve\)$/,
    );
    // The policy's two rules and the guardrail count as evidence; no review was ever run.
    const evidence = Object.fromEntries(aa05.evidence.map((e) => [e.id, e.state]));
    assert.deepEqual(
      [evidence.sod_rules, evidence.sod_guardrail, evidence.access_reviews, evidence.audit_chain],
      ['supports', 'supports', 'missing', 'supports'],
    );

    // The import's records are the evidence of PR.AA-01: an intact audit chain and the joiners it found.
    const aa01 = control(json, 'PR.AA-01');
    const audit = aa01.evidence.find((e) => e.id === 'audit_chain')!;
    assert.match(audit.detail, /^\d+ records, hash chain verified$/);
    assert.match(aa01.evidence.find((e) => e.id === 'lifecycle_events')!.detail, /205 joiner/);
    // Barbara Johansson left but her accounts are enabled; her API key is orphaned.
    assert.equal(aa01.findings.byCode['drift.terminated_enabled'], 5);
    assert.equal(control(json, 'NHI1').findings.byCode['nhi.owner_inactive'], 2);
    assert.equal(control(json, 'NHI7').status, 'attention');

    // What Tenure does not do is said plainly, never counted as met.
    for (const id of ['NHI2', 'NHI6', 'NHI9', 'T2']) assert.equal(control(json, id).status, 'not_covered', id);
    assert.equal(json.summary.controls, json.summary.met + json.summary.attention + json.summary.notCovered);

    // --json is the same document.
    const again = await tenure(...acme(), '--json', 'report', 'compliance');
    assert.deepEqual(JSON.parse(again.stdout), json);
  });

  it('renders Markdown by default', async () => {
    const r = await tenure(...acme(), 'report', 'compliance');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# Compliance report: Acme Corporation$/m);
    assert.match(r.stdout, /^As of 2026-11-01\. Checked: lint, drift \(the targets were read\), the state store\.$/m);
    assert.match(r.stdout, /^\| PR\.AA-05 Access is defined in policy.* \| needs attention \| full \| 3 critical,/m);
    assert.match(r.stdout, /^\| NHI2 Secret leakage \| not covered \| none \| none \| - \|$/m);
    const section = r.stdout.slice(r.stdout.indexOf('### PR.AA-05'), r.stdout.indexOf('## NIST SP 800-207'));
    assert.match(section, /\*\*Status: needs attention\*\*/);
    assert.match(section, /- \*\*critical\*\* `sod\.identity_conflict` identity:E000031: E000031 holds/);
    assert.match(
      section,
      /\| Separation-of-duties rules \| yes \| 2 rules \(payments-create-approve, code-and-release\)/,
    );
  });

  it('writes one self-contained HTML page with --out', async () => {
    const out = join(folder({}), 'compliance.html');
    const r = await tenure(...acme(), 'report', 'compliance', '--format', 'html', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /compliance report \(html\) written to .*compliance\.html: \d+ met, \d+ need attention, 11 not covered/,
    );
    const html = readFileSync(out, 'utf8');
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.match(html, /<h3 id="control-PR-AA-05">PR\.AA-05: /);
    assert.match(html, /<code>sod\.identity_conflict<\/code> identity:E000031: E000031 holds/);
    // No scripts and nothing loaded from elsewhere.
    assert.ok(!html.includes('<script'));
    assert.ok(!/\b(src|href)="(https?:)?\/\//.test(html));
  });

  it('reports without the targets when asked, and says drift was not checked', async () => {
    const dir = folder({});
    cpSync('examples/acme', join(dir, 'acme'), { recursive: true });
    rmSync(join(dir, 'acme', 'actual', 'apps.json'));
    const args = ['-c', join(dir, 'acme', 'tenure.yaml'), '--as-of', '2026-11-01', '--state', state];

    const failed = await tenure(...args, 'report', 'compliance');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /target "apps" cannot be read/);
    assert.match(failed.stderr, /--skip-drift/);

    const r = await tenure(...args, 'report', 'compliance', '--skip-drift', '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as ReportJson;
    assert.deepEqual(json.checked, { lint: true, drift: false, store: true });
    assert.match(json.notes[0]!, /^Drift was not checked \(--skip-drift\)/);
    assert.deepEqual(
      Object.keys(json.summary.findings.byCode).filter((c) => c.startsWith('drift.')),
      [],
    );
    // The conflict comes from the policy and the identities, so it is still there.
    assert.equal(control(json, 'PR.AA-05').findings.byCode['sod.identity_conflict'], 1);
    assert.match(control(json, 'PR.AA-01').notes.join(' '), /drift was not checked/);
    const md = await tenure(...args, 'report', 'compliance', '--skip-drift');
    assert.match(md.stdout, /Checked: lint, drift NOT checked, the state store\./);
  });

  it('flags a tampered audit log', async () => {
    const copy = join(folder({}), 'state.db');
    cpSync(state, copy);
    const db = new BetterSqlite3(copy);
    db.prepare("update audit_log set subject = 'E999' where seq = 3").run();
    db.close();
    const r = await tenure(
      ...['-c', 'examples/acme/tenure.yaml', '--as-of', '2026-11-01', '--state', copy],
      '--json',
      'report',
      'compliance',
    );
    assert.equal(r.code, 0, r.stderr);
    const t7 = control(JSON.parse(r.stdout) as ReportJson, 'T7');
    assert.equal(t7.status, 'attention');
    assert.match(t7.reason, /hash chain broken: record 3: its content does not match its hash/);
  });

  it('refuses an unknown format, or --json with another format', async () => {
    const pdf = await tenure(...acme(), 'report', 'compliance', '--format', 'pdf');
    assert.equal(pdf.code, 2);
    assert.match(pdf.stderr, /argument 'pdf' is invalid/);
    const both = await tenure(...acme(), '--json', 'report', 'compliance', '--format', 'html');
    assert.equal(both.code, 2);
    assert.match(both.stdout, /--json asks for JSON but --format asks for html/);
  });
});
