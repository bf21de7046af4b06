import { InvalidArgumentError } from 'commander';
import { parseListen, type ListenAddress } from '../server/listen-address.js';

/** What `tenure serve` takes, parsed by commander before it starts. */
export interface ServeOptions {
  readonly listen: ListenAddress;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly insecureHttp?: boolean;
}

/** `--listen HOST:PORT`: a bad value is exit 2 before anything opens. */
export function listenFlag(text: string): ListenAddress {
  const a = parseListen(text);
  if (!a)
    throw new InvalidArgumentError(`--listen takes HOST:PORT (e.g. 127.0.0.1:7070 or [::1]:7070), not "${text}".`);
  return a;
}
