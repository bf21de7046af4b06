import type { Generated } from 'kysely';

/** Tables as Kysely sees them. JSON columns hold text (the same in SQLite and PostgreSQL). */
export interface Database {
  tenure_meta: { key: string; value: string };
  identities: {
    id: string;
    source: string;
    version: number;
    status: string;
    /** The current version; its data (canonical JSON of the Identity) is in identity_versions. */
    updated_at: string;
  };
  identity_versions: {
    id: string;
    version: number;
    source: string;
    /** Canonical JSON of the Identity (dates and ints tagged); null when it left the feed (a tombstone). */
    data: string | null;
    recorded_at: string;
    import_seq: number;
  };
  imports: {
    seq: Generated<number>;
    source: string;
    as_of: string;
    started_at: string;
    rows: number;
    events: number;
    outcome: string;
    detail: string;
  };
  source_state: { source: string; last_as_of: string; last_import: number; feed_hash: string | null };
  events: {
    seq: Generated<number>;
    import_seq: number;
    kind: string;
    identity: string;
    source: string;
    at: string;
    effective: string | null;
    data: string;
  };
  exceptions: {
    id: Generated<number>;
    identity: string;
    entitlement: string;
    reason: string;
    approver: string;
    granted_by: string;
    valid_from: string;
    valid_until: string;
    revoked_at: string | null;
    revoked_by: string | null;
    revoke_reason: string | null;
    /** The audit record that last wrote this row (0007): a cheap check without walking the log. */
    audit_seq: number | null;
  };
  approvals: {
    id: Generated<number>;
    kind: string;
    scope: string;
    amount: number;
    reason: string;
    approved_by: string;
    created_at: string;
    used_by_import: number | null;
    /** The audit record that last wrote this row (0007): a cheap check without walking the log. */
    audit_seq: number | null;
  };
  /** The durable operation journal (written by the executor): each operation before and after it runs. */
  operations: {
    id: Generated<number>;
    plan: string;
    /** Position in the plan. */
    seq: number;
    /** Canonical JSON of the Change. */
    change: string;
    target: string;
    action: string;
    identity: string | null;
    account: string;
    entitlement: string | null;
    state: string;
    attempts: number;
    last_error: string | null;
    updated_at: string;
  };
  /** Who applies to which target now (`target:ID`), with a fencing number that grows per holder. */
  leases: {
    name: string;
    holder: string;
    host: string;
    pid: number;
    fence: number;
    acquired_at: string;
    expires_at: string;
  };
  review_campaigns: {
    id: Generated<number>;
    scope: string;
    created_at: string;
    created_by: string;
    due: string | null;
    no_response: string;
    state: string;
    closed_at: string | null;
    closed_by: string | null;
    /** The audit record that last wrote this row (0007): a cheap check without walking the log. */
    audit_seq: number | null;
  };
  review_items: {
    id: Generated<number>;
    campaign: number;
    identity: string;
    entitlement: string;
    reviewer: string | null;
    provenance: string;
    /** JSON array of role ids. */
    roles: string;
    last_used: string | null;
    decision: string | null;
    comment: string | null;
    decided_at: string | null;
    decided_by: string | null;
    /** The audit record that last wrote this row (0007): a cheap check without walking the log. */
    audit_seq: number | null;
  };
  /** Revokes that stick (access reviews): the engine holds these grants back from the roles. */
  denials: {
    id: Generated<number>;
    identity: string;
    entitlement: string;
    origin: string;
    reason: string;
    decided_by: string;
    at: string;
    /** JSON array of role ids. */
    roles: string;
    lifted_at: string | null;
    /** The audit record that last wrote this row (0007): a cheap check without walking the log. */
    audit_seq: number | null;
  };
  /** Non-human identities whose owner left: who is asked to take them over, and by when. */
  nhi_custody: {
    id: Generated<number>;
    nhi: string;
    previous_owner: string;
    proposed_owner: string | null;
    since: string;
    deadline: string;
    state: string;
    decided_by: string | null;
    decided_at: string | null;
    /** The audit record that last wrote this row (0007): a cheap check without walking the log. */
    audit_seq: number | null;
  };
  /** Credentials Tenure rotated or revoked through a connector. */
  credential_rotations: {
    id: Generated<number>;
    identity: string;
    target: string;
    account: string;
    at: string;
    purpose: string;
    /** The audit record that last wrote this row (0007): a cheap check without walking the log. */
    audit_seq: number | null;
  };
  /** Links Tenure keeps for targets that hold none (0009): an account's stable id in the target → its identity. */
  account_links: {
    id: Generated<number>;
    target: string;
    account_id: string;
    /** The account's name when it was linked (for people reading the table; the id is what counts). */
    account: string;
    identity: string;
    linked_at: string;
    audit_seq: number | null;
  };
  /** What `tenure targets check` last discovered of each target (0008): canonical JSON of what it supports. */
  target_discoveries: { target: string; kind: string; checked_at: string; data: string };
  /** Running `tenure serve` instances (0011): the policy each has loaded, and until when its heartbeat holds. */
  service_instances: {
    id: string;
    host: string;
    pid: number;
    policy_hash: string;
    loaded_at: string;
    seen_at: string;
    expires_at: string;
  };
  /** API tokens (0010): the secret's SHA-256 only, never the secret. A governed row, last_used_at aside. */
  api_tokens: {
    id: Generated<number>;
    name: string;
    token_hash: string;
    /** JSON array of scopes. */
    scopes: string;
    identity: string | null;
    created_at: string;
    created_by: string;
    expires_at: string;
    last_used_at: string | null;
    revoked_at: string | null;
    revoked_by: string | null;
    audit_seq: number | null;
  };
  audit_log: {
    seq: number;
    at: string;
    actor: string;
    action: string;
    subject: string;
    reason: string;
    details: string;
    previous_hash: string;
    hash: string;
    /** Set on records chained with TENURE_AUDIT_KEY (0007). */
    key_id: string | null;
  };
}
