import type { WorkspaceSpec } from '../app/workspace.js';

/** The options every command takes: the workspace's, and how to print. */
export interface GlobalOptions extends WorkspaceSpec {
  readonly json: boolean;
}
