import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const checkedIn = join(root, 'schema', 'tenure.schema.json');

interface JsonSchema {
  $schema?: string;
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  default?: unknown;
}

/** `# yaml-language-server: $schema=PATH` on a policy's first line, resolved from its folder. */
function schemaComment(policyFile: string): string | undefined {
  const first = readFileSync(policyFile, 'utf8').split('\n')[0] ?? '';
  const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
  return m ? resolve(dirname(policyFile), m[1]!) : undefined;
}

describe('tenure schema', () => {
  it('prints the JSON Schema of tenure.yaml, the same as the checked-in schema/tenure.schema.json', async () => {
    const r = await tenure('schema');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stdout + '\n' === readFileSync(checkedIn, 'utf8'),
      'schema/tenure.schema.json differs from what `tenure schema` prints: regenerate it with `npm run schema` ' +
        '(tenure schema --out schema/tenure.schema.json) and commit it',
    );
  });

  it('describes the file as written: strict keys, defaults optional, descriptions, connection left open', async () => {
    const schema = JSON.parse((await tenure('schema')).stdout) as JsonSchema;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['version']);
    const source = schema.properties!.sources!.items!;
    assert.deepEqual(source.required, ['id', 'format', 'path', 'key', 'kind']);
    assert.match(source.properties!.delimiter!.description!, /default ","/);
    assert.equal(schema.properties!.policies!.properties!.exceptions!.properties!.max_days!.default, 90);
    const connection = schema.properties!.targets!.items!.properties!.connection!;
    assert.equal(connection.type, 'object');
    assert.notEqual(connection.additionalProperties, false);
  });

  it('writes the schema with --out', async () => {
    const dir = folder({});
    const out = join(dir, 'nested', 'tenure.schema.json');
    const r = await tenure('schema', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /JSON Schema of tenure\.yaml written to .*tenure\.schema\.json/);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(checkedIn, 'utf8'));
  });

  it('is named by the first line of every example policy', () => {
    const examples = join(root, 'examples');
    for (const name of readdirSync(examples)) {
      const policy = join(examples, name, 'tenure.yaml');
      if (!existsSync(policy)) continue;
      assert.equal(schemaComment(policy), checkedIn, `${policy} starts with # yaml-language-server: $schema=...`);
    }
  });

  it('is written beside the policy tenure demo generates, which names it', async () => {
    const dir = folder({});
    const r = await tenure('demo', '--people', '20', '--roles', '5', 'generate', '--out', dir);
    assert.equal(r.code, 0, r.stderr);
    const schema = schemaComment(join(dir, 'tenure.yaml'));
    assert.equal(schema, join(dir, 'tenure.schema.json'));
    assert.equal(readFileSync(schema, 'utf8'), readFileSync(checkedIn, 'utf8'));
  });
});
