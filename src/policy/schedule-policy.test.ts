import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatPosition } from '../model/diagnostic.js';
import { loadPolicy } from './load-policy.js';

const base = `version: 1
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
targets:
  - id: directory
    kind: memory
`;

function load(schedule: string) {
  return loadPolicy(`${base}${schedule}`, 'tenure.yaml');
}

function errors(schedule: string): string[] {
  return load(schedule)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.position ? formatPosition(d.position) : '-'}: ${d.code}: ${d.message}`);
}

describe('schedule: in the policy', () => {
  it('reads each job with its cron expression, in UTC unless a timezone is given', () => {
    const r = load(`schedule:
  reconcile: "*/15 * * * *"
  drift: { cron: "0 6 * * 1-5", timezone: Europe/Paris }
`);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.result?.policy.schedule?.map((j) => [j.job, j.cron, j.timezone, j.position?.line]),
      [
        ['reconcile', '*/15 * * * *', undefined, 12],
        ['drift', '0 6 * * 1-5', 'Europe/Paris', 13],
      ],
    );
  });

  it('has no jobs when the key is absent', () => {
    const r = load('');
    assert.ok(r.result);
    assert.equal(r.result.policy.schedule, undefined);
  });

  // Each bad schedule: the one error it gives, at file:line:col.
  const cases: { name: string; schedule: string; expect: string[] }[] = [
    {
      name: 'a minute out of range',
      schedule: 'schedule:\n  reconcile: "61 * * * *"\n',
      expect: [
        'tenure.yaml:12:14: policy.invalid_cron: schedule.reconcile: "61 * * * *" is not a cron expression Tenure runs: Invalid value for minute: 61',
      ],
    },
    {
      name: 'six fields (seconds)',
      schedule: 'schedule:\n  drift: "0 0 6 * * *"\n',
      expect: [
        `tenure.yaml:12:10: policy.invalid_cron: schedule.drift: "0 0 6 * * *" is not a cron expression Tenure runs: mode '5-part' requires exactly 5 parts, but pattern '0 0 6 * * *' has 6 parts.`,
      ],
    },
    {
      name: 'a date that never comes',
      schedule: 'schedule:\n  drift: { cron: "0 0 30 2 *" }\n',
      expect: [
        'tenure.yaml:12:18: policy.invalid_cron: schedule.drift: "0 0 30 2 *" is not a cron expression Tenure runs: it never fires',
      ],
    },
    {
      name: 'an unknown job',
      schedule: 'schedule:\n  reconcile: "* * * * *"\n  drfit: "0 6 * * *"\n',
      expect: ['tenure.yaml:13:3: policy.unknown_key: unknown job "drfit" in schedule'],
    },
    {
      name: 'a job given twice',
      schedule: 'schedule:\n  drift: "0 6 * * *"\n  drift: "0 7 * * *"\n',
      expect: ['tenure.yaml:13:3: policy.duplicate_key: Map keys must be unique'],
    },
    {
      name: 'an unknown time zone',
      schedule: 'schedule:\n  drift: { cron: "0 6 * * *", timezone: Mars/Olympus }\n',
      expect: ['tenure.yaml:12:41: policy.invalid_timezone: schedule.drift.timezone: unknown time zone "Mars/Olympus"'],
    },
    {
      name: 'a number for an expression',
      schedule: 'schedule:\n  reconcile: 15\n',
      expect: ['tenure.yaml:12:14: policy.invalid_value: schedule.reconcile: does not match any accepted form'],
    },
  ];
  for (const c of cases)
    it(`refuses ${c.name}`, () => {
      assert.deepEqual(errors(c.schedule), c.expect);
    });

  it('suggests the job meant', () => {
    const d = load('schedule:\n  drfit: "0 6 * * *"\n').diagnostics[0];
    assert.match(d?.hint ?? '', /the jobs are reconcile and drift; did you mean "drift"\?/);
  });

  it('reports a bad schedule beside the rest of the file', () => {
    const r = loadPolicy(`${base.replace('kind: memory', 'kind: memroy')}schedule:\n  drift: "x"\n`, 'tenure.yaml');
    const codes = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
    assert.ok(codes.includes('policy.invalid_cron'), codes.join());
    assert.ok(codes.length >= 2, codes.join());
  });
});
