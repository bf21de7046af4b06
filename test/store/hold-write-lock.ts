// A second, real Tenure process for the concurrency tests: opens the store, takes the write
// lock, says so on stdout, and holds it until the parent writes a line to its stdin; then it keeps
// it for the given milliseconds more (so a parent that starts waiting at once finds it still
// held) and commits one audit record. The parent decides when the lock is let go, not a timer.
import { once } from 'node:events';
import { openStore } from '../../src/store/open-store.js';

const [location, lingerMs] = process.argv.slice(2) as [string, string];
const store = await openStore(location);
await store.write(async (w) => {
  const release = once(process.stdin, 'data');
  process.stdout.write('locked\n');
  await release;
  process.stdin.destroy();
  await new Promise((r) => setTimeout(r, Number(lingerMs)));
  await w.audit([
    {
      at: new Date('2026-11-01T00:00:00Z'),
      actor: 'other-process',
      action: 'plan.saved',
      subject: 'lock',
      reason: 'holding the write lock',
      details: {},
    },
  ]);
});
await store.close();
process.stdout.write('released\n');
