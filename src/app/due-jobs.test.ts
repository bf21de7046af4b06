import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ScheduledJob } from '../model/schedule.js';
import { dueJobs } from './due-jobs.js';

const reconcile: ScheduledJob = { job: 'reconcile', cron: '*/15 * * * *' };
const drift: ScheduledJob = { job: 'drift', cron: '0 6 * * *' };
const driftParis: ScheduledJob = { job: 'drift', cron: '0 6 * * *', timezone: 'Europe/Paris' };
const weekdays: ScheduledJob = { job: 'drift', cron: '30 8 * * 1-5' };
const everyMinute: ScheduledJob = { job: 'reconcile', cron: '* * * * *' };

describe('dueJobs', () => {
  // [name, jobs, from, to, expected "job@instant" in order]
  const cases: [string, ScheduledJob[], string, string, string[]][] = [
    ['nothing fires inside the interval', [reconcile, drift], '05:46:00', '05:59:59', []],
    ['the end instant counts', [reconcile], '05:59:58', '06:00:00', ['reconcile@06:00']],
    ['the start instant does not (it was the last check)', [reconcile], '06:00:00', '06:00:30', []],
    ['two jobs at one instant', [drift, reconcile], '05:59:58', '06:00:01', ['drift@06:00', 'reconcile@06:00']],
    [
      'a job that fired several times is due once, at its first',
      [reconcile],
      '05:00:00',
      '07:00:00',
      ['reconcile@05:15'],
    ],
    ['in order of their instants', [drift, reconcile], '05:40:00', '06:20:00', ['reconcile@05:45', 'drift@06:00']],
    ['every minute, a second before it', [everyMinute], '05:59:59', '06:00:00', ['reconcile@06:00']],
    [
      'a time zone moves the instant (Paris is UTC+1 in November)',
      [driftParis],
      '04:59:00',
      '05:00:00',
      ['drift@05:00'],
    ],
    ['the UTC instant is not due in Paris', [driftParis], '05:59:00', '06:00:00', []],
    ['a clock set back: nothing', [everyMinute], '06:00:00', '05:00:00', []],
    ['an empty interval: nothing', [everyMinute], '06:00:00', '06:00:00', []],
  ];
  const day = '2026-11-02T'; // a Monday
  const show = (d: Date) => d.toISOString().slice(11, 16);
  for (const [name, jobs, from, to, expected] of cases)
    it(name, () => {
      const due = dueJobs(jobs, new Date(`${day}${from}Z`), new Date(`${day}${to}Z`));
      // Jobs due at one instant keep the order they were given in.
      assert.deepEqual(
        due.map((d) => `${d.job}@${show(d.at)}`),
        expected,
      );
    });

  it('days of the week: a weekday job is not due over a weekend', () => {
    const jobs = [weekdays];
    assert.deepEqual(dueJobs(jobs, new Date('2026-11-07T00:00:00Z'), new Date('2026-11-08T23:59:00Z')), []);
    assert.deepEqual(
      dueJobs(jobs, new Date('2026-11-08T23:59:00Z'), new Date('2026-11-09T09:00:00Z')).map((d) => d.at.toISOString()),
      ['2026-11-09T08:30:00.000Z'],
    );
  });

  it('summer time: the same Paris hour is an hour earlier in UTC in July', () => {
    const due = dueJobs([driftParis], new Date('2026-07-01T03:59:00Z'), new Date('2026-07-01T04:00:00Z'));
    assert.deepEqual(
      due.map((d) => d.at.toISOString()),
      ['2026-07-01T04:00:00.000Z'],
    );
  });
});
