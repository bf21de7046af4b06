#!/usr/bin/env node
// The published entry point runs the compiled CLI; `npm run build` (run by `npm ci`) produces dist/.
import '../dist/cli/bin.js';
