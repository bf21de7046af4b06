import { readFileSync } from 'node:fs';
import { openService } from '../app/service.js';
import { testClockFrom } from '../app/test-clock.js';
import { buildServer } from '../server/build-server.js';
import { isLoopback } from '../server/listen-address.js';
import { diagnosticLine } from '../server/policy-schemas.js';
import type { ServeOptions } from './serve-flags.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, UserError, type Io } from './output.js';

/**
 * `tenure serve`: the REST API on Fastify until SIGTERM or SIGINT, which stop it accepting
 * connections, let requests in flight finish, give the store back and exit 0.
 */
export async function serveCommand(io: Io, g: GlobalOptions, o: ServeOptions): Promise<number> {
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
    throw new UserError('TLS needs both --tls-cert FILE and --tls-key FILE', EXIT.usage);
  const tls = o.tlsCert !== undefined && o.tlsKey !== undefined;
  if (!tls && !o.insecureHttp && !isLoopback(o.listen.host))
    throw new UserError(
      `--listen ${o.listen.host}:${o.listen.port} is reachable from other machines: tokens would cross the network in clear`,
      EXIT.usage,
      [],
      'give --tls-cert FILE --tls-key FILE, or --insecure-http when a proxy in front terminates TLS',
    );
  const https = tls ? { cert: readPem(o.tlsCert, '--tls-cert'), key: readPem(o.tlsKey, '--tls-key') } : undefined;

  const testClock = testClockFrom(process.env);
  let lost: ((holder: string) => void) | undefined;
  const service = await openService(g, {
    onLeaseLost: (holder) => lost?.(holder),
    ...(testClock ? { clock: testClock.clock } : {}),
  });
  let app;
  try {
    app = await buildServer({ service, schedule: true, ...(https ? { https } : {}) });
    if (testClock) {
      const warning = `TENURE_TEST_CLOCK is set: the service's clock started at ${testClock.start.toISOString()} and runs ${testClock.rate}x; for tests only`;
      app.log.warn({ testClock: testClock.start.toISOString(), rate: testClock.rate }, warning);
      io.err(`tenure serve: warning: ${warning}`);
    }
    await app.listen({ host: o.listen.host, port: o.listen.port });
  } catch (e) {
    await app?.close().catch(() => undefined);
    await service.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new UserError(`cannot listen on ${o.listen.host}:${o.listen.port}: ${(e as Error).message}`, EXIT.invalid);
    throw e;
  }
  const address = app.addresses()[0];
  const shown =
    typeof address === 'object'
      ? `${https ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : `${o.listen.host}:${o.listen.port}`;
  const server = app;
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      io.err(`tenure serve: ${why}; finishing requests in flight`);
      void server
        .close()
        .catch(() => undefined)
        .then(() => service.close())
        .then(
          () => resolve(code),
          () => resolve(code),
        );
    };
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal while stopping: the person wants out now.
      if (stopping) process.exit(EXIT.interrupted);
      stop(`${signal} received`, EXIT.ok);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP reloads the policy as POST /api/v1/policy/reload does; the outcome goes to the log.
    process.on('SIGHUP', () => {
      if (stopping) return;
      server.log.info('SIGHUP received: reloading the policy');
      service.reloadPolicy({ id: 'SIGHUP', source: 'signal' }).then(
        (r) =>
          server.log.info(
            {
              previousHash: r.previous.hash,
              hash: r.current.hash,
              changes: r.plan?.summary.changes,
              blocked: r.plan?.guardrails.blocked,
              planProblem: r.planProblem,
            },
            'policy reloaded',
          ),
        (e: unknown) =>
          server.log.error(
            e instanceof UserError ? { code: e.code, diagnostics: e.diagnostics.map(diagnosticLine) } : { err: e },
            `policy reload refused, the policy in use stays: ${(e as Error).message}`,
          ),
      );
    });
    lost = (holder) => stop(`the service lease was taken by ${holder}`, EXIT.invalid);
  });
  // Said only once the signal handlers are in place: whoever waits for this line may signal at once (a pipe write is
  // synchronous on Linux, and a SIGHUP before its handler would end the process).
  io.err(`tenure serve: listening on ${shown} (state store ${service.store.location}, ${service.store.dialect})`);
  return stopped;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UserError(`cannot read ${flag} ${file}: ${(e as Error).message}`);
  }
}
