import { applyUnderKill, CRASH_TARGETS } from './apply-crash-scenario.js';

// The SIGKILL scenario (apply-crash-scenario.ts) on directories and services: SCIM, and Active Directory with its
// link in an attribute or kept by Tenure.
applyUnderKill('apply under SIGKILL: directories and services', [
  CRASH_TARGETS.scim,
  CRASH_TARGETS.activeDirectory,
  CRASH_TARGETS.activeDirectoryKeptLinks,
]);
