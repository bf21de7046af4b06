import { parse } from 'csv-parse/sync';
import { csvField } from './generate-organisation.js';

/** One day of the demo's week: the feeds as HR and the NHI inventory send them that morning. */
export interface DemoDay {
  /** 1 = the day after the first run. */
  readonly day: number;
  readonly date: Date;
  readonly title: string;
  /** What changed in the feeds, in words; empty when nothing did. */
  readonly story: readonly string[];
  /** The HR feed's full text that day. */
  readonly hr: string;
  /** Rows of the HR file that day (a truncated export has fewer). */
  readonly hrRows: number;
  /** What the demo expects the guardrails to do, so it can say when something surprising happened. */
  readonly expect: 'apply' | 'import_stopped';
  /** Ids the day is about, to show their sentences first. */
  readonly subjects: readonly string[];
}

type Row = Record<string, string>;

const DAY_MS = 86_400_000;

/**
 * A week of HR changes on top of a generated organisation (pure: the same input, the same week):
 * joiners and movers, leavers, a leaver who owns non-human identities, a quiet day on which the
 * movers' grace period ends, a truncated export, and the full export again.
 */
export function weekOfChanges(hrText: string, nhiText: string, start: Date, moverGraceDays: number): DemoDay[] {
  const rows = parse<Row>(hrText, { columns: true, bom: true });
  const header = Object.keys(rows[0] ?? {});
  const nhis = JSON.parse(nhiText) as { name: string; owner_id: string | null }[];
  const dateOf = (day: number): Date => new Date(start.getTime() + day * DAY_MS);
  const iso = (d: Date): string => d.toISOString().slice(0, 10);
  const text = (list: readonly Row[]): string =>
    [header.join(','), ...list.map((r) => header.map((h) => csvField(r[h] ?? '')).join(','))].join('\n') + '\n';
  const name = (r: Row): string => `${r.first_name} ${r.last_name} (${r.employee_id})`;

  // Candidates: active employees below the top of the tree, in a stable order.
  const active = rows.filter((r) => r.status === 'Active' && r.worker_type === 'Employee' && r.manager_id !== '');
  const owners = new Map<string, string[]>();
  for (const n of nhis) if (n.owner_id) owners.set(n.owner_id, [...(owners.get(n.owner_id) ?? []), n.name]);
  const byDepartment = new Map<string, Row[]>();
  for (const r of active) byDepartment.set(r.department!, [...(byDepartment.get(r.department!) ?? []), r]);
  const departments = [...byDepartment.keys()].sort();
  const pick = (list: readonly Row[], used: Set<string>, n: number, avoidOwners = true): Row[] => {
    const out: Row[] = [];
    // Every k-th person, so the picks spread over the company rather than the first rows.
    const stride = Math.max(1, Math.floor(list.length / (n * 3 + 1)));
    for (let i = stride; i < list.length && out.length < n; i += stride) {
      const r = list[i]!;
      if (used.has(r.employee_id!) || (avoidOwners && owners.has(r.employee_id!))) continue;
      used.add(r.employee_id!);
      out.push(r);
    }
    return out;
  };
  const used = new Set<string>();
  let current = rows.map((r) => ({ ...r }));
  const days: DemoDay[] = [];
  const replace = (id: string, f: (r: Row) => Row): void => {
    current = current.map((r) => (r.employee_id === id ? f(r) : r));
  };

  // Day 1: three joiners start today, cut from colleagues' rows; three people change department.
  {
    const date = dateOf(1);
    const story: string[] = [];
    const subjects: string[] = [];
    const maxId = Math.max(...rows.map((r) => Number(r.employee_id!.slice(1)) || 0));
    const templates = pick(active, used, 3);
    templates.forEach((t, i) => {
      const id = `E${String(maxId + i + 1).padStart(6, '0')}`;
      const first = active[(i * 7 + 3) % active.length]!.first_name!;
      const last = active[(i * 11 + 5) % active.length]!.last_name!;
      const joiner: Row = {
        ...t,
        employee_id: id,
        first_name: first,
        last_name: last,
        email: `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + '@example.com',
        status: 'Active',
        hire_date: iso(date),
        start_date: iso(date),
        end_date: '',
      };
      current.push(joiner);
      story.push(`${name(joiner)} joins ${t.department} as ${t.title}, starting today`);
      subjects.push(id);
    });
    for (const m of pick(active, used, 3)) {
      const to = departments[(departments.indexOf(m.department!) + 1) % departments.length]!;
      // A colleague in the middle of the new department's list: a peer, not its head.
      const peers = byDepartment.get(to)!;
      const like = peers[Math.floor(peers.length / 2)]!;
      replace(m.employee_id!, (r) => ({
        ...r,
        department: to,
        title: like.title!,
        cost_center: like.cost_center!,
        manager_id: like.manager_id!,
        clearances: '',
      }));
      story.push(
        `${name(m)} moves from ${m.department} to ${to} as ${like.title}; the old access stays ${moverGraceDays} day(s) for the hand-over`,
      );
      subjects.push(m.employee_id!);
    }
    days.push({
      day: 1,
      date,
      title: 'joiners and movers',
      story,
      hr: text(current),
      hrRows: current.length,
      expect: 'apply',
      subjects,
    });
  }

  // Day 2: three people leave today.
  {
    const date = dateOf(2);
    const story: string[] = [];
    const subjects: string[] = [];
    for (const l of pick(active, used, 3)) {
      replace(l.employee_id!, (r) => ({ ...r, status: 'Terminated', end_date: iso(date) }));
      story.push(`${name(l)} leaves ${l.department} today`);
      subjects.push(l.employee_id!);
    }
    days.push({
      day: 2,
      date,
      title: 'leavers',
      story,
      hr: text(current),
      hrRows: current.length,
      expect: 'apply',
      subjects,
    });
  }

  // Day 3: someone who owns non-human identities leaves.
  {
    const date = dateOf(3);
    const owner = active.find((r) => owners.has(r.employee_id!) && !used.has(r.employee_id!));
    const story: string[] = [];
    const subjects: string[] = [];
    if (owner) {
      used.add(owner.employee_id!);
      replace(owner.employee_id!, (r) => ({ ...r, status: 'Terminated', end_date: iso(date) }));
      const owned = owners.get(owner.employee_id!)!;
      story.push(`${name(owner)} leaves today; they own ${owned.join(', ')}`);
      subjects.push(owner.employee_id!, ...owned);
    }
    days.push({
      day: 3,
      date,
      title: 'an owner of non-human identities leaves',
      story,
      hr: text(current),
      hrRows: current.length,
      expect: 'apply',
      subjects,
    });
  }

  // Day 4: the feeds do not change; the movers' grace period runs out when it is 3 days.
  days.push({
    day: 4,
    date: dateOf(4),
    title: 'a quiet day',
    story: [
      moverGraceDays <= 3
        ? `no HR changes; the movers of day 1 reach the end of their ${moverGraceDays}-day grace period`
        : 'no HR changes',
    ],
    hr: text(current),
    hrRows: current.length,
    expect: 'apply',
    subjects: [],
  });

  // Day 5: the export job dies part-way: the file ends after 55% of the rows.
  {
    const cut = Math.floor(current.length * 0.55);
    days.push({
      day: 5,
      date: dateOf(5),
      title: 'a truncated HR export',
      story: [`the HR export stopped part-way: ${cut} of ${current.length} rows arrived`],
      hr: text(current.slice(0, cut)),
      hrRows: cut,
      expect: 'import_stopped',
      subjects: [],
    });
  }

  // Day 6: the export is complete again.
  days.push({
    day: 6,
    date: dateOf(6),
    title: 'the full export is back',
    story: [`the HR export is complete again: ${current.length} rows`],
    hr: text(current),
    hrRows: current.length,
    expect: 'apply',
    subjects: [],
  });
  return days;
}
