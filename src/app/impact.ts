import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { computeImpact, type Impact } from '../governance/impact.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import { EXIT, UserError } from './errors.js';
import { planningIdentities } from './planning-identities.js';
import { storedGovernance } from './store-access.js';
import type { Workspace } from './workspace.js';

const run = promisify(execFile);

/** The policy a change is measured from: a policy file, or this policy file as of a git ref. */
export type ImpactBase = { readonly file: string } | { readonly gitRef: string };

export interface ImpactReport {
  /** The base as reports name it: the file as given, or `REF:PATH`. */
  readonly base: string;
  readonly impact: Impact;
  /** The current policy's warnings, then the sources'. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * `tenure impact --base REF`: who gains and who loses what if the policy changes from the base to
 * the current file, and whether the change would be stopped (`impact.blocked`). Works from the
 * feeds when nothing was imported; reads the store only when one exists.
 */
export async function impactOf(ws: Workspace, base: ImpactBase): Promise<ImpactReport> {
  const { loaded: current, warnings } = ws.policy();
  const read = await readBase(base, current.policy.file);
  const { identities, diagnostics: sourceWarnings } = await planningIdentities(ws, current);
  const { exceptions, denials, tampered } = await storedGovernance(ws);
  const impact = computeImpact({
    base: read.loaded,
    current,
    identities,
    exceptions,
    denials,
    asOf: ws.asOf,
  });
  return { base: read.name, impact, diagnostics: [...warnings, ...sourceWarnings, ...tampered] };
}

async function readBase(base: ImpactBase, policyFile: string): Promise<{ loaded: LoadedPolicy; name: string }> {
  const { text, name } = 'file' in base ? fromFile(base.file) : await fromGit(base.gitRef, policyFile);
  const r = loadPolicy(text, name);
  if (!r.result)
    throw new UserError(
      `the base policy ${name} has ${r.diagnostics.filter((d) => d.severity === 'error').length} error(s)`,
      EXIT.invalid,
      r.diagnostics,
      'the impact is computed against a valid base; pick a ref or a file where the policy validated',
    );
  return { loaded: r.result, name };
}

function fromFile(file: string): { text: string; name: string } {
  try {
    return { text: readFileSync(file, 'utf8'), name: file };
  } catch (e) {
    throw new UserError(`the base policy ${file} cannot be read (${(e as NodeJS.ErrnoException).code})`, EXIT.invalid);
  }
}

/** This policy file's text at a git ref of the repository that holds it. */
async function fromGit(ref: string, policyFile: string): Promise<{ text: string; name: string }> {
  const cwd = dirname(policyFile);
  const notFound = (why: string): UserError =>
    new UserError(
      `--base ${ref}: there is no such file, and ${why}`,
      EXIT.invalid,
      [],
      'pass a policy file, or a git commit, branch or tag (main, HEAD~1) of the repository holding the policy',
    );
  // A ref that looks like an option would be read by git as one.
  if (ref === '' || ref.startsWith('-')) throw notFound('it is not a git ref');
  let gitSaid = '';
  const git = async (...args: string[]): Promise<string | undefined> => {
    try {
      return (await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' })).stdout;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('git is not installed to read it as a ref');
      const stderr = (e as { stderr?: unknown }).stderr;
      gitSaid = typeof stderr === 'string' ? (stderr.split('\n')[0] ?? '') : '';
      return undefined;
    }
  };
  const root = (await git('rev-parse', '--show-toplevel'))?.trim();
  if (!root)
    throw notFound(
      /not a git repository/i.test(gitSaid) || gitSaid === ''
        ? `the policy's folder ${cwd} is not in a git repository`
        : `git cannot read the repository of ${cwd} (${gitSaid.replace(/^fatal: /, '')})`,
    );
  if ((await git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`)) === undefined)
    throw notFound(`no commit, branch or tag of that name exists in ${root}`);
  const path = relative(realpathSync(root), realpathSync(policyFile)).split(sep).join('/');
  const text = await git('show', `${ref}:${path}`);
  if (text === undefined)
    throw new UserError(
      `--base ${ref}: ${path} does not exist at ${ref}`,
      EXIT.invalid,
      [],
      'the policy file was added or moved after that ref; pass an older copy with --base FILE',
    );
  return { text, name: `${ref}:${path}` };
}
