import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** What identifies one version of a file: a write by rename changes the inode, any edit the mtime or size. */
type Version = string;

/** Returned by an operation that found nothing to change: it settles without a write. */
export const NO_CHANGE: unique symbol = Symbol('no change');

export interface GroupCommitOptions<S, W> {
  /** Absolute paths of the files the state is kept in. */
  readonly files: readonly string[];
  /**
   * The state from the files' contents, in `files` order (undefined: the file does not exist).
   * Throws (a ConnectorError) when they are wrong.
   */
  readonly parse: (contents: readonly (Buffer | undefined)[]) => S;
  /**
   * What a batch writes, as [path, text] in the order to write them, given the writes of its
   * operations that changed something (never empty). Each path is one of `files`.
   */
  readonly render: (state: S, writes: readonly W[]) => readonly (readonly [path: string, text: string | Buffer])[];
  /** An operation whose writes need an order of their own runs in a batch of its own. */
  readonly alone?: (write: W) => boolean;
  /**
   * Flush the temporary file to disk before the rename, and the folder after it: a change then
   * survives a power cut too, not only the death of the process.
   */
  readonly fsync: boolean;
  /** The error to throw for a file that cannot be read or written. */
  readonly ioError: (path: string, action: 'read' | 'write', error: unknown) => Error;
}

/**
 * A state kept in files that it replaces atomically (a temporary file in the same folder renamed
 * over the original), with group commit. Operations are queued and run one at a time on the
 * current state — read again first when a file changed on disk since this instance last read or
 * wrote it (another writer) — so a read-modify-write never interleaves; operations queued while a
 * batch is in flight (its files looked at, or written) run together and share the next write, so a
 * busy caller rewrites each file once per batch rather than once per change. Every operation's promise settles only after the
 * write that holds its change (reads included: a read sees every change queued before it), and an
 * operation that throws must leave the state as it was.
 */
export class GroupCommit<S, W> {
  private state: S | undefined;
  private versions: Version[] | undefined;
  /** Operations waiting for the next batch; one batch runs at a time. */
  private readonly pending: Queued<S, W>[] = [];
  private flushing: Promise<void> | undefined;
  private written = 0;

  constructor(private readonly options: GroupCommitOptions<S, W>) {}

  /** Files written so far by this instance (each batch that changed something writes once per file it touched). */
  get writes(): number {
    return this.written;
  }

  /**
   * Reads the files now, synchronously, so that a missing or malformed file is reported when the
   * target is opened rather than at its first operation.
   */
  loadSync(): S {
    const { files, parse, ioError } = this.options;
    // Versions taken before the read: a change during the read is seen (and read) next time.
    const versions = files.map((f) => versionSync(f, ioError));
    const contents = files.map((f) => {
      try {
        return readFileSync(f);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw ioError(f, 'read', e);
      }
    });
    this.state = parse(contents);
    this.versions = versions;
    return this.state;
  }

  /**
   * The state as last read or changed, without waiting for queued operations or looking at the
   * files; undefined before the first read. After a failed write it may hold changes the files lack
   * (the next operation reads the files again).
   */
  peek(): S | undefined {
    return this.state;
  }

  /**
   * Queues one operation on the state. `write` says what it changes (false: nothing, a read);
   * returning NO_CHANGE says it found nothing to change after all. Settles with its result once
   * the batch it ran in is written, or with its error (a failed write fails every operation of the
   * batch: none of them is known to be on disk).
   */
  run<T>(write: W | false, op: (s: S) => T | typeof NO_CHANGE): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ write, op, resolve: resolve as (v: unknown) => void, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Waits for every queued operation; the next one reads the files again. */
  async close(): Promise<void> {
    await this.flushing;
    this.versions = undefined;
  }

  private async drain(): Promise<void> {
    const alone = this.options.alone ?? (() => false);
    const isAlone = (q: Queued<S, W>): boolean => q.write !== false && alone(q.write);
    while (this.pending.length > 0) {
      // The files are looked at first: operations queued meanwhile join this batch.
      let s: { state: S } | { error: unknown };
      try {
        s = { state: await this.current() };
      } catch (e) {
        s = { error: e };
      }
      const cut = isAlone(this.pending[0]!) ? 1 : this.pending.findIndex(isAlone);
      const batch = this.pending.splice(0, cut === -1 ? this.pending.length : cut);
      if ('error' in s) for (const q of batch) q.reject(s.error);
      else await this.runBatch(s.state, batch);
    }
    this.flushing = undefined;
  }

  private async runBatch(s: S, batch: readonly Queued<S, W>[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    const writes: W[] = [];
    for (const q of batch) {
      try {
        const value = q.op(s);
        outcomes.push({ ok: true, value: value === NO_CHANGE ? undefined : value });
        if (value !== NO_CHANGE && q.write !== false) writes.push(q.write);
      } catch (e) {
        // Operations check before they change anything, so one that throws leaves the state as it was.
        outcomes.push({ ok: false, error: e });
      }
    }
    if (writes.length > 0) {
      try {
        for (const [path, text] of this.options.render(s, writes)) {
          const version = await this.writeFile(path, text);
          this.versions![this.options.files.indexOf(path)] = version;
        }
      } catch (e) {
        // Nothing of this batch is known to be on disk: every operation in it fails, and the next reads the files.
        this.versions = undefined;
        for (const q of batch) q.reject(e);
        return;
      }
    }
    batch.forEach((q, i) => {
      const o = outcomes[i]!;
      if (o.ok) q.resolve(o.value);
      else q.reject(o.error);
    });
  }

  private async current(): Promise<S> {
    const { files, parse, ioError } = this.options;
    const now = await Promise.all(files.map((f) => versionOf(f, ioError)));
    if (this.state !== undefined && this.versions?.every((v, i) => v === now[i])) return this.state;
    const contents = await Promise.all(
      files.map(async (f) => {
        try {
          return await readFile(f);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw ioError(f, 'read', e);
        }
      }),
    );
    // Versions taken before the read: a change during the read is seen (and read) next time.
    this.state = parse(contents);
    this.versions = now;
    return this.state;
  }

  /**
   * Atomic replace: a temporary file in the same folder, renamed over the original. A reader (or a
   * process started after this one was killed) sees the old file or the new one whole, never a
   * part. With `fsync` the data and the rename are also flushed to disk before the write counts as
   * done; without it, a change survives the death of the process (the kernel holds it) but may not
   * survive a power cut — and since it then only reaches the kernel's cache, which takes less time
   * than a round trip to the thread pool, it is done synchronously.
   */
  private async writeFile(path: string, text: string | Buffer): Promise<Version> {
    const { fsync, ioError } = this.options;
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      if (fsync) {
        await mkdir(dir, { recursive: true });
        const fh = await open(tmp, 'wx', 0o644);
        try {
          await fh.writeFile(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, path);
      } else {
        mkdirSync(dir, { recursive: true });
        writeFileSync(tmp, text, { flag: 'wx', mode: 0o644 });
        renameSync(tmp, path);
      }
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw ioError(path, 'write', e);
    }
    this.written++;
    if (!fsync) return versionSync(path, ioError);
    try {
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      // Some platforms cannot fsync a folder; the rename itself is still atomic.
    }
    return versionOf(path, ioError);
  }
}

interface Queued<S, W> {
  readonly write: W | false;
  readonly op: (s: S) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type IoError = GroupCommitOptions<unknown, unknown>['ioError'];

function versionFrom(st: { ino: bigint; size: bigint; mtimeNs: bigint }): Version {
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

function versionSync(path: string, ioError: IoError): Version {
  try {
    return versionFrom(statSync(path, { bigint: true }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw ioError(path, 'read', e);
  }
}

async function versionOf(path: string, ioError: IoError): Promise<Version> {
  try {
    return versionFrom(await stat(path, { bigint: true }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw ioError(path, 'read', e);
  }
}
