import { setFlagsFromString } from 'node:v8';
import { main } from './main.js';

// A larger young generation: imports and plans allocate many short-lived objects, and the
// default (16 MiB semi-spaces) makes the scavenger run constantly. Measured: 10% off an import.
setFlagsFromString('--max-semi-space-size=64');

// `tenure ... | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

// The process entry: bad input never reaches here as an exception (main turns it into a
// message and an exit code). Anything that does is a bug in Tenure or a library's surprise: the
// user sees one line and exit 1, never a stack trace, unless they ask for it with TENURE_DEBUG.
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const debug = process.env.TENURE_DEBUG !== undefined && process.env.TENURE_DEBUG !== '';
  process.stderr.write(
    debug
      ? `tenure: unexpected error:\n${(e as Error).stack ?? String(e)}\n`
      : `tenure: unexpected error: ${(e as Error).message ?? String(e)}\n  hint: this is a bug in Tenure; run again with TENURE_DEBUG=1 to see where, and report it with the command you ran\n`,
  );
  process.exitCode = 1;
}
