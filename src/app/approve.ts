import type { Approval } from '../store/state-store.js';
import type { Workspace } from './workspace.js';

/**
 * Records a person's approval of what a guardrail stopped (`tenure approve ...`); the store writes
 * its audit record in the same transaction. Returns its number. Used once, by the next import or
 * apply it allows.
 */
export function recordApproval(
  ws: Workspace,
  kind: Approval['kind'],
  scope: string,
  amount: number,
  reason: string,
): Promise<number> {
  return ws.withStore('write', (store) =>
    store.write((w) =>
      w.addApproval(
        { kind, scope, amount, reason, approvedBy: ws.actor.id, createdAt: ws.asOf },
        ws.auditContext(reason),
      ),
    ),
  );
}
