import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadPolicy } from './load-policy.js';

// The example in docs/policy.md is what people copy: it must load without a single error.
describe('docs/policy.md', () => {
  it('shows a policy that loads', () => {
    const doc = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, 'the page has a yaml example');
    const r = loadPolicy(example, 'docs/policy.md');
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.position?.line}: ${d.message}`),
      [],
    );
    assert.ok(r.result);
  });
});
