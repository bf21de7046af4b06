// A second, real Tenure process for the concurrency tests: opens the store, takes the write
// lock, says so on stdout, holds it for the given milliseconds, then commits one audit record.
import { openStore } from '../../src/store/open-store.js';

const [location, holdMs] = process.argv.slice(2) as [string, string];
const store = await openStore(location);
await store.write(async (w) => {
  process.stdout.write('locked\n');
  await new Promise((r) => setTimeout(r, Number(holdMs)));
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
