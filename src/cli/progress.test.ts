import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ProgressLine } from './progress.js';

describe('ProgressLine', () => {
  it('draws a bar per target and ends its line', () => {
    const out: string[] = [];
    const p = new ProgressLine((t) => out.push(t));
    p.start('directory', 4);
    p.start('apps', 2);
    for (let i = 0; i < 4; i++) p.done('directory', true);
    p.done('apps', false);
    p.quarantined('apps');
    p.finish();
    const last = out.at(-2)!;
    assert.equal(last, '\r\x1b[2Kdirectory ████████████ 4/4   apps ██████░░░░░░ 1/2 QUARANTINED');
    assert.equal(out.at(-1), '\n');
  });
});
