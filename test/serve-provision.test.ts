import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { onProcessEnd } from './support/server-process.js';

// Changes pushed to a real `tenure serve` land in the targets in the same request: a joiner's records, a leaver's
// DELETE, and "provision now" for one identity — each under the guardrails, audited with the token as the actor.

const dir = mkdtempSync(join(tmpdir(), 'tenure-serve-provision-'));
cpSync('examples/acme', dir, { recursive: true });
const config = join(dir, 'tenure.yaml');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, ...args], {
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const running = new Set<ChildProcess>();
onProcessEnd(() => {
  for (const c of running) c.kill('SIGKILL');
});

function serve(): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, 'serve', '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TENURE_LOG_LEVEL: 'warn' } },
  );
  running.add(child);
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (https?:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]!, exit });
    });
    void exit.then((code) => reject(new Error(`tenure serve exited ${code} before listening:\n${err}`)));
  });
}

const joiner = {
  employee_id: 'E900001',
  first_name: 'Nia',
  last_name: 'Okafor',
  email: 'nia.okafor@acme.example',
  worker_type: 'Employee',
  status: 'Active',
  department: 'Engineering',
  title: 'Software Engineer',
  location: 'London',
  cost_center: 'CC0300',
  grade: '5',
  clearances: '',
  manager_id: 'E000047',
  hire_date: '2026-10-01',
  start_date: '2026-10-01',
  end_date: '',
};

interface Pushed {
  source: string;
  outcome: string;
  identities: string[];
  events: { kind: string; identity: string }[];
  applied: { plan: { changes: number }; operations: { target: string; state: string; sentence: string }[] };
}

describe('tenure serve: pushed changes and provision now', () => {
  let server: { child: ChildProcess; url: string; exit: Promise<number | null> };
  let feed: string;
  let provisioner: string;
  let reader: string;
  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const token = (...args: string[]) => {
    const r = cli('token', 'create', ...args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  before(async () => {
    assert.equal(cli('import', '--limit', '0').code, 0);
    const applied = cli('apply', '--limit', '0');
    assert.equal(applied.code, 0, applied.stderr);
    feed = token('--name', 'hr-feed', '--scopes', 'sources:write');
    provisioner = token('--name', 'helpdesk', '--scopes', 'plans:apply');
    reader = token('--name', 'reader', '--scopes', 'identities:read');
    server = await serve();
  });
  after(async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exit;
    }
  });

  it('a joiner pushed as records is recorded and provisioned in the same request', async () => {
    const r = await call('POST', '/api/v1/sources/hr/records', feed, { records: [joiner] });
    assert.equal(r.status, 200, r.text);
    const body = r.json() as unknown as Pushed;
    assert.deepEqual(body.identities, ['E900001']);
    assert.deepEqual(
      body.events.map((e) => `${e.kind} ${e.identity}`),
      ['joiner E900001'],
    );
    const sentences = body.applied.operations.map((o) => o.sentence);
    assert.ok(sentences.includes('account E900001 in directory: created'), sentences.join('\n'));
    assert.ok(body.applied.operations.every((o) => o.state === 'succeeded'));
    assert.ok(sentences.some((s) => /^account E900001 in directory: added to directory:group\/engineering$/.test(s)));
    // The command line sees the same store and targets: nothing left to do for the joiner, or for anyone.
    const plan = cli('--json', 'plan');
    assert.equal((JSON.parse(plan.stdout) as { plan: { summary: { changes: number } } }).plan.summary.changes, 0);
    const why = await call('GET', '/api/v1/identities/E900001', reader);
    assert.equal(why.status, 200, why.text);
    // Counted by target and result in the metrics, as many as the answer lists.
    const metrics = (await fetch(`${server.url}/metrics`).then((m) => m.text())).split('\n');
    const counted = (target: string) =>
      Number(
        metrics
          .find((l) => l.startsWith(`tenure_operations_total{target="${target}",result="succeeded"}`))
          ?.split(' ')[1] ?? 0,
      );
    for (const target of ['directory', 'apps'])
      assert.equal(
        counted(target),
        body.applied.operations.filter((o) => o.target === target).length,
        `operations counted for ${target}`,
      );
  });

  it('a record that fails validation is 400 naming the field, and records nothing', async () => {
    const before = cli('--json', 'status').stdout;
    const r = await call('POST', '/api/v1/sources/hr/records', feed, {
      records: [{ ...joiner, employee_id: 'E900002', department: '' }],
    });
    assert.equal(r.status, 400, r.text);
    const error = (r.json() as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'request.invalid');
    assert.match(error.message, /nothing was recorded: .*record 1.*department/);
    assert.equal(cli('--json', 'status').stdout, before, 'no import recorded');
    const shape = await call('POST', '/api/v1/sources/hr/records', feed, { records: 'E900002' });
    assert.equal(shape.status, 400);
    assert.equal((shape.json() as { error: { field?: string } }).error.field, 'body.records');
    const unknown = await call('POST', '/api/v1/sources/hrr/records', feed, { records: [joiner] });
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(unknown.text, /source \\"hrr\\" is not declared in the policy.*did you mean \\"hr\\"/);
  });

  it('checks the token and its scope before reading the body', async () => {
    const none = await call('POST', '/api/v1/sources/hr/records', undefined, '{ not json');
    assert.equal(none.status, 401, none.text);
    const wrong = await call('POST', '/api/v1/sources/hr/records', provisioner, '{ not json');
    assert.equal(wrong.status, 403, wrong.text);
    const gone = await call('DELETE', '/api/v1/sources/hr/records/E900001', reader);
    assert.equal(gone.status, 403, gone.text);
  });

  it('provision now: reconciles one identity; an unknown one is 404', async () => {
    const r = await call('POST', '/api/v1/identities/E900001/reconcile', provisioner);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((r.json() as { plan: { changes: number; identities: string[] } }).plan, {
      id: (r.json() as { plan: { id: string } }).plan.id,
      changes: 0,
      identities: ['E900001'],
    });
    const unknown = await call('POST', '/api/v1/identities/E999999/reconcile', provisioner);
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(unknown.text, /identity \\"E999999\\" is not known/);
  });

  it('a leaver pushed as a DELETE loses access in the same request, audited with the token as the actor', async () => {
    const r = await call('DELETE', '/api/v1/sources/hr/records/E900001', feed);
    assert.equal(r.status, 200, r.text);
    const body = r.json() as unknown as Pushed;
    assert.deepEqual(
      body.events.map((e) => `${e.kind} ${e.identity}`),
      ['leaver E900001'],
    );
    const sentences = body.applied.operations.map((o) => o.sentence);
    assert.ok(sentences.includes('account E900001 in directory: disabled'), sentences.join('\n'));
    const again = await call('DELETE', '/api/v1/sources/hr/records/E900001', feed);
    assert.equal(again.status, 404, again.text);
    const audit = cli('audit', 'export')
      .stdout.split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { action: string; actor: string; subject: string });
    const pushes = audit.filter((a) => a.action === 'import.pushed');
    assert.equal(pushes.length, 2);
    assert.ok(
      pushes.every((a) => /^token:hr-feed#\d+$/.test(a.actor)),
      JSON.stringify(pushes),
    );
    const ops = audit.filter((a) => a.action === 'operation.disable_account' && a.subject === 'E900001');
    // One record per account disabled (one per target it had one in), each by the token.
    assert.equal(ops.length, sentences.filter((x) => x.endsWith(': disabled')).length);
    assert.ok(ops.length >= 1 && ops.every((a) => /^token:hr-feed#\d+$/.test(a.actor)), JSON.stringify(ops));
    assert.equal(cli('audit', 'verify').code, 0);
  });
});
