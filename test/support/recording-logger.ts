import type { FastifyBaseLogger } from 'fastify';

export interface Logged {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** Fastify's logger as far as the service's parts use it, keeping every line for a test to read. */
export function recordingLogger(lines: Logged[], bound: Record<string, unknown> = {}): FastifyBaseLogger {
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      lines.push({ level, msg, fields: { ...bound, ...fields } });
    };
  return {
    level: 'debug',
    child: (more: Record<string, unknown>) => recordingLogger(lines, { ...bound, ...more }),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    silent: () => undefined,
  } as unknown as FastifyBaseLogger;
}
