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
// message and an exit code); anything that does is a bug in Tenure, reported as one.
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(
    `tenure: internal error, please report it with the command you ran:\n${(e as Error).stack ?? String(e)}\n`,
  );
  process.exitCode = 70;
}
