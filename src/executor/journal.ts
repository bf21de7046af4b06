import type { AuditEntry } from '../audit/audit-chain.js';
import type { CredentialRotation } from '../model/custody.js';
import type { Change } from '../model/plan.js';
import type { AccountLink } from '../model/actual-state.js';

/**
 * The states an operation passes through; `dead` means it failed for good (terminal error or
 * retries spent), `superseded` that a newer plan of the same targets replaced the plan before it ran.
 */
export const OPERATION_STATES = ['pending', 'running', 'succeeded', 'failed', 'dead', 'superseded'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

export interface JournalOperation {
  readonly id: number;
  /** Position in the plan: operations of one identity run in this order. */
  readonly seq: number;
  readonly change: Change;
  readonly state: OperationState;
  readonly attempts: number;
  readonly lastError?: string;
}

/**
 * The durable journal: every operation is recorded before it runs and after it ends, so a
 * process killed at any point resumes where it stopped (DESIGN.md: the operation journal).
 */
export interface Journal {
  /**
   * Records the plan's operations as pending unless this plan was begun before; returns them all,
   * in plan order. Unfinished operations of other plans on the same targets are superseded.
   */
  begin(plan: string, changes: readonly Change[]): Promise<JournalOperation[]>;
  /**
   * Records an operation's state. `effects` are written in the same transaction (the audit
   * record of a change that landed), so a change is never journalled without its record or
   * recorded without its journal mark. A journal whose writer lost its lease throws here.
   */
  mark(id: number, state: OperationState, attempts: number, error?: string, effects?: MarkEffects): Promise<void>;
}

/** What is written together with an operation's mark. */
export interface MarkEffects {
  readonly audit?: readonly AuditEntry[];
  readonly rotations?: readonly CredentialRotation[];
  /** Links Tenure keeps for a target that holds none (an account it created or adopted there). */
  readonly links?: readonly AccountLink[];
}

/** A journal in memory, for unit tests of the executor. */
export class MemoryJournal implements Journal {
  readonly operations = new Map<string, JournalOperation[]>();
  /** Effects written with the marks, in order: what a store would have committed. */
  readonly effects: MarkEffects[] = [];

  begin(plan: string, changes: readonly Change[]): Promise<JournalOperation[]> {
    let ops = this.operations.get(plan);
    if (!ops) {
      ops = changes.map((change, seq) => ({ id: seq + 1, seq, change, state: 'pending' as const, attempts: 0 }));
      this.operations.set(plan, ops);
    }
    return Promise.resolve(ops.map((o) => ({ ...o })));
  }

  mark(id: number, state: OperationState, attempts: number, error?: string, effects?: MarkEffects): Promise<void> {
    if (effects) this.effects.push(effects);
    for (const ops of this.operations.values()) {
      // An id is its position + 1 (see begin): a lookup, not a search of the whole plan per mark.
      const i = id - 1;
      if (ops[i]?.id === id)
        ops[i] = { ...ops[i], state, attempts, ...(error !== undefined ? { lastError: error } : {}) };
    }
    return Promise.resolve();
  }
}
