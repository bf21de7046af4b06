import type { LinkBook } from '../connectors/kept-links.js';
import type { AccountLink } from '../model/actual-state.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { TamperedRow } from '../store/state-store.js';
import { tamperedDiagnostics } from './store-access.js';
import type { Workspace } from './workspace.js';

type Read = () => Promise<{ links: readonly AccountLink[]; tampered: readonly TamperedRow[] }>;

/**
 * The links Tenure keeps for targets that hold none, read from the store once (trusted rows only), with the links this
 * run makes on top. A link made while applying is written with its operation's journal mark and audit record
 * (`take`), not here: a link is never recorded for a change that is not.
 */
export class StoredLinkBook implements LinkBook {
  private loaded: Promise<void> | undefined;
  private stored: readonly AccountLink[] = [];
  private tampered: readonly TamperedRow[] = [];
  private told = false;
  private readonly made = new Map<string, AccountLink>();
  private readonly byTarget = new Map<string, Map<string, string>>();

  constructor(private readonly read: Read) {}

  async links(target: string): Promise<ReadonlyMap<string, string>> {
    await (this.loaded ??= this.read().then((r) => {
      this.stored = r.links;
      this.tampered = r.tampered;
    }));
    let m = this.byTarget.get(target);
    if (!m) {
      m = new Map();
      for (const l of this.stored) if (l.target === target) m.set(l.accountId, l.identity);
      for (const l of this.made.values()) if (l.target === target) m.set(l.accountId, l.identity);
      this.byTarget.set(target, m);
    }
    return m;
  }

  record(link: AccountLink): void {
    this.made.set(key(link.target, link.account), link);
    this.byTarget.get(link.target)?.set(link.accountId, link.identity);
  }

  /** The link made for this account in this run, once: what its operation's mark writes. */
  take(target: string, account: string): AccountLink | undefined {
    const k = key(target, account);
    const link = this.made.get(k);
    this.made.delete(k);
    return link;
  }

  /** Link rows that do not match the audit log, said once (they are left out). */
  warnings(): readonly Diagnostic[] {
    if (this.told || this.tampered.length === 0) return [];
    this.told = true;
    return tamperedDiagnostics(this.tampered);
  }
}

function key(target: string, account: string): string {
  return `${target}\u0000${account}`;
}

/** The kept links as commands that only read see them: from the store when there is one, else none. */
export function storedLinks(ws: Workspace): StoredLinkBook {
  return new StoredLinkBook(() => ws.ifStored({ links: [], tampered: [] }, (store) => store.trustedAccountLinks()));
}
