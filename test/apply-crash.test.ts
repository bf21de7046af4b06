import { applyUnderKill, CRASH_TARGETS } from './apply-crash-scenario.js';

// The SIGKILL scenario (apply-crash-scenario.ts) on targets that are files and databases.
applyUnderKill('apply under SIGKILL: files and databases', [
  CRASH_TARGETS.csv,
  CRASH_TARGETS.memory,
  CRASH_TARGETS.postgres,
]);
