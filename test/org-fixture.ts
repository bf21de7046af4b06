import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folder, tenure } from './cli-harness.js';

// A small organisation on disk with its own SQLite state, for command-line tests of the store.
export const policy = `version: 1
name: Import test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { field: worker_type, values: { Employee: employee, Contractor: contractor } }
    status: { field: status, values: { Active: active, Leave: leave, Terminated: terminated } }
    start_date: start_date
    end_date: end_date
    attributes:
      department: { field: department, type: string, required: true }
      title: { field: title, type: string }
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/staff
  - id: directory:group/engineering
  - id: directory:group/finance
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
  - id: finance
    when: identity.department == "Finance"
    grants: [directory:group/finance]
`;
export const header = 'employee_id,worker_type,status,department,title,start_date,end_date';
export function hr(rows: string[]): string {
  return [header, ...rows].join('\n') + '\n';
}
export const people = (n: number, department = 'Engineering'): string[] =>
  Array.from(
    { length: n },
    (_, i) => `E${String(i + 1).padStart(3, '0')},Employee,Active,${department},Developer,2024-01-01,`,
  );

export function org(rows: string[]): {
  dir: string;
  run: (...args: string[]) => ReturnType<typeof tenure>;
  write: (rows: string[] | string) => void;
} {
  const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr(rows) });
  return {
    dir,
    run: (...args) => tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), ...args),
    write: (r) => writeFileSync(join(dir, 'hr.csv'), typeof r === 'string' ? r : hr(r)),
  };
}
