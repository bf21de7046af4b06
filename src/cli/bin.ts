import { main } from './main.js';

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
