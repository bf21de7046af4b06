import { Command, CommanderError, Option } from 'commander';
import { applyCommand, type ApplyOptions } from './apply.js';
import { approveDeprovisionCommand, approveLeaversCommand, approveStartDateCommand } from './approve.js';
import { auditExportCommand, auditVerifyCommand } from './audit.js';
import { grantAddCommand, grantListCommand, grantRevokeCommand } from './grant.js';
import { demoCommand, demoGenerateCommand, type DemoOptions } from './demo.js';
import { eventsCommand, type EventsOptions } from './events.js';
import { importCommand, type ImportOptions } from './import.js';
import {
  reviewCloseCommand,
  reviewDecideCommand,
  reviewExportCommand,
  reviewStartCommand,
  reviewStatusCommand,
} from './review.js';
import { nhiConfirmCommand, nhiListCommand } from './nhi.js';
import { statusCommand } from './status.js';
import { EXIT, formatDiagnostic, processIo, toJson, UserError, type Io } from './output.js';
import { planCommand, type PlanOptions } from './plan.js';
import { validateCommand } from './validate.js';
import { whoHasCommand } from './who-has.js';
import { whyCommand } from './why.js';
import type { GlobalOptions } from './global-options.js';
import { workspaceOf } from '../app/workspace.js';
import type { LintOptions } from './lint.js';
import type { DriftOptions } from './drift.js';
import { choice, dateFlag, nonBlank, positiveNumber, repeated, scopeList, wholeNumber } from './flags.js';
import { FINDING_SEVERITIES } from '../model/finding.js';
import { RuleBudgetExceeded } from '../engine/rule-watchdog.js';
import { DEFAULT_LISTEN, type ListenAddress } from '../server/listen-address.js';
import { listenFlag, type ServeOptions } from './serve-flags.js';

/** `--limit N`; where 0 makes sense (show no lines, just the summary) it is allowed. */
function limitOption(description: string, min = 1): Option {
  return new Option('--limit <n>', description).argParser(wholeNumber('--limit', min, 10_000_000));
}

function failOnOption(): Option {
  return new Option(
    '--fail-on <severity>',
    'exit 1 when any finding is at or above: info, low, medium, high or critical',
  ).argParser(choice('--fail-on', FINDING_SEVERITIES));
}

/** `--identity ID`, repeatable: the identities a plan or an apply is for. */
function identityOption(description: string): Option {
  return new Option('--identity <id>', description).argParser(repeated('--identity'));
}

function reasonOption(description: string): Option {
  return new Option('--reason <text>', description).argParser(nonBlank('--reason'));
}

/** Runs the command line; returns the exit code. Never lets a stack trace reach a user for bad input. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('tenure')
    .description(
      'Rule-based provisioning and lifecycle governance: access that can be explained, previewed and bounded.',
    )
    .version('0.1.0')
    .option('-c, --config <file>', 'policy file', './tenure.yaml')
    .option('--json', 'one JSON document on stdout, for scripts and CI', false)
    .addOption(
      new Option('--as-of <date>', 'evaluate as of this date (YYYY-MM-DD or ISO 8601); default now').argParser(
        dateFlag('--as-of'),
      ),
    )
    .addOption(
      new Option(
        '--as <id>',
        'who is acting, for the audit log and approvals (default: TENURE_ACTOR, else the OS user)',
      ).argParser(nonBlank('--as')),
    )
    .addOption(
      new Option(
        '--state <location>',
        'state store: a SQLite file or a postgres:// URL (default .tenure/state.db)',
      ).env('TENURE_DATABASE_URL'),
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError('(run tenure --help for usage)');

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  // A change recorded for a time more than a day from today is said before it is made: a backdated
  // approval or import is legitimate (catching up), but never silent.
  const changesState = new Set([
    'import',
    'apply',
    'grant add',
    'grant revoke',
    'approve deprovision',
    'approve leavers',
    'approve start-date',
    'review start',
    'review decide',
    'review close',
    'nhi confirm',
    'token create',
    'token revoke',
  ]);
  program.hook('preAction', (_program, action) => {
    const name =
      action.parent && action.parent !== program ? `${action.parent.name()} ${action.name()}` : action.name();
    if (!changesState.has(name) || globals().json) return;
    const note = workspaceOf(globals()).backdatingNote();
    if (note) io.err(note);
  });
  // Deciding as a reviewer or taking over an NHI names a person: the OS user is not one.
  const requiredActor = (command: string): string => {
    const as = globals().as ?? process.env.TENURE_ACTOR;
    if (as === undefined || as.trim() === '')
      throw new UserError(`${command} needs the identity who acts: --as ID (or TENURE_ACTOR)`, EXIT.usage);
    return as.trim();
  };
  const run = (f: () => number | Promise<number>) => async () => {
    code = await f();
  };

  program
    .command('validate')
    .description('check the policy and the sources; report every problem as file:line:col')
    .option('--skip-invalid', 'load valid rows of a feed with bad rows, and report the rest')
    .action((opts: { skipInvalid?: boolean }) => run(() => validateCommand(io, globals(), opts))());

  program
    .command('schema')
    .description('the JSON Schema of tenure.yaml, for editors and CI (yaml-language-server, check-jsonschema)')
    .option('--out <file>', 'write it to this file instead of stdout')
    .action(async (opts: { out?: string }) => {
      const { schemaCommand } = await import('./schema.js');
      await run(() => schemaCommand(io, globals(), opts))();
    });

  program
    .command('lint')
    .description('governance findings: role owners and reach, separation of duties, exceptions, non-human identities')
    .addOption(failOnOption())
    .addOption(limitOption('findings shown per severity in text output (default 20)'))
    .action(async (opts: LintOptions) => {
      const { lintCommand } = await import('./lint.js');
      await run(() => lintCommand(io, globals(), opts))();
    });

  program
    .command('why')
    .description("the provenance of an identity's access, in plain words")
    .argument('<identity>', 'identity id')
    .argument('[entitlement]', 'one entitlement, target:kind/name')
    .action((id: string, ent: string | undefined) => run(() => whyCommand(io, globals(), id, ent))());

  program
    .command('who-has')
    .description('identities that should hold an entitlement, and why')
    .argument('<entitlement>', 'target:kind/name')
    .addOption(limitOption('show at most n identities'))
    .action((ent: string, opts: { limit?: number }) => run(() => whoHasCommand(io, globals(), ent, opts))());

  program
    .command('plan')
    .description('desired vs actual state per target: every change with its reason, and summary counts')
    .option('--out <file>', 'save the plan as JSON')
    .option('--actual <file>', 'actual state from one snapshot file instead of the targets')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']))
    .addOption(limitOption('changes shown per target in text output (default 20)'))
    .option('--skip-invalid', 'load valid rows of a feed with bad rows, and report the rest')
    .addOption(identityOption('plan the changes of this identity only (repeat for more); --out saves it so'))
    .action((opts: PlanOptions) => run(() => planCommand(io, globals(), opts))());

  program
    .command('impact')
    .description('who gains and who loses what if the policy changes from a base (file or git ref) to the current one')
    .requiredOption('--base <ref>', 'the base policy: a policy file, or a git ref (main, HEAD~1) of this policy file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']))
    .addOption(limitOption('rows per table and identities per list in text and Markdown output (default 10)'))
    .action(async (opts: { base: string; format?: string; limit?: number }) => {
      const { impactCommand } = await import('./impact.js');
      await run(() => impactCommand(io, globals(), opts))();
    });

  program
    .command('drift')
    .description('actual access the policy does not explain, and policy access that is missing, each with its reason')
    .option('--target <id>', 'only this target')
    .addOption(limitOption('findings shown per class in text output (default 20)'))
    .addOption(failOnOption())
    .option('--remediate', 'turn the drift into a plan (guarded like any plan); the default only reports')
    .option('--out <file>', 'with --remediate: save the plan as JSON for tenure apply FILE')
    .action(async (opts: DriftOptions) => {
      const { driftCommand } = await import('./drift.js');
      await run(() => driftCommand(io, globals(), opts))();
    });

  const report = program.command('report').description('reports for auditors and reviewers');
  report
    .command('compliance')
    .description(
      'findings and enforced controls mapped to NIST CSF 2.0, NIST SP 800-207 and the OWASP NHI Top 10, with evidence',
    )
    .addOption(new Option('--format <format>', 'markdown (default), html, json').choices(['markdown', 'html', 'json']))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--skip-drift', 'do not read the targets (unreachable ones); the report says drift was not checked')
    .action(async (opts: Record<string, string>) => {
      const { reportComplianceCommand } = await import('./report.js');
      await run(() => reportComplianceCommand(io, globals(), opts))();
    });

  const targets = program.command('targets').description('the systems Tenure provisions');
  targets
    .command('check')
    .description(
      'what the credentials given can do on each target, and which declared entitlements it lacks (read-only unless --probe)',
    )
    .argument('[target]', 'only this target')
    .option('--probe', 'prove what cannot be asked: create and remove a tenure-check-* account on each target')
    .action(async (target: string | undefined, opts: { probe?: boolean }) => {
      const { targetsCheckCommand } = await import('./targets.js');
      await run(() => targetsCheckCommand(io, globals(), target, opts))();
    });

  program
    .command('import')
    .description('read every source into the state store and record joiner, mover and leaver events')
    .option('--skip-invalid', 'load valid rows of a feed with bad rows, and report the rest')
    .addOption(
      new Option(
        '--approve-leavers <n>',
        'allow up to n leavers in one import past the mass-leaver guardrail (needs --reason; recorded as an approval)',
      ).argParser(wholeNumber('--approve-leavers', 1, 10_000_000)),
    )
    .addOption(reasonOption('why the leavers past the guardrail are expected (with --approve-leavers)'))
    .addOption(limitOption('events shown per source (default 20; 0 for the summary only)', 0))
    .action((opts: ImportOptions) => run(() => importCommand(io, globals(), opts))());

  program
    .command('events')
    .description('lifecycle events recorded by imports')
    .addOption(new Option('--since <date>', 'only events at or after this date').argParser(dateFlag('--since')))
    .option('--identity <id>', "only this identity's events")
    .addOption(limitOption('at most n events'))
    .action((opts: EventsOptions) => run(() => eventsCommand(io, globals(), opts))());

  program
    .command('status')
    .description('identities by kind and status, the last imports, and what a guardrail holds back')
    .action(() => run(() => statusCommand(io, globals()))());

  const grant = program.command('grant').description('time-bound exceptions outside the role model');
  grant
    .command('add')
    .description('grant an entitlement until a date, with a reason and an approver')
    .argument('<identity>', 'identity id')
    .argument('<entitlement>', 'target:kind/name')
    .requiredOption('--until <date>', 'the exception ends at this date (at most policies.exceptions.max_days away)')
    .requiredOption('--reason <text>', 'why the person needs it')
    .requiredOption('--approver <id>', 'the identity who approved it (not the holder)')
    .action((id: string, ent: string, opts: Record<string, string>) =>
      run(() => grantAddCommand(io, globals(), id, ent, opts))(),
    );
  grant
    .command('list')
    .description('exceptions in force')
    .option('--all', 'also ended and revoked exceptions')
    .option('--identity <id>', "only this identity's exceptions")
    .action((opts: { all?: boolean; identity?: string }) => run(() => grantListCommand(io, globals(), opts))());
  grant
    .command('revoke')
    .description('end an exception now')
    .argument('<id>', 'exception number (tenure grant list)')
    .requiredOption('--reason <text>', 'why it ends early')
    .action((id: string, opts: Record<string, string>) => run(() => grantRevokeCommand(io, globals(), id, opts))());

  const approve = program.command('approve').description("record a person's approval of what a guardrail stopped");
  approve
    .command('deprovision')
    .description('let the next apply take access from up to N accounts of a target')
    .argument('<count>', 'how many accounts')
    .requiredOption('--target <id>', 'the target')
    .requiredOption('--reason <text>', 'why so much access goes at once')
    .action((count: string, opts: Record<string, string>) =>
      run(() => approveDeprovisionCommand(io, globals(), count, opts))(),
    );
  approve
    .command('start-date')
    .description(
      "let the next import move an active identity's start date into the future (it loses access until then)",
    )
    .argument('<identity>', 'the identity')
    .requiredOption('--reason <text>', 'why the new start date is right')
    .action((identity: string, opts: Record<string, string>) =>
      run(() => approveStartDateCommand(io, globals(), identity, opts))(),
    );
  approve
    .command('leavers')
    .description('let the next import of a source make up to N identities leave')
    .argument('<count>', 'how many leavers are expected')
    .option('--source <id>', 'the source (needed when the policy has several)')
    .requiredOption('--reason <text>', 'why so many leave at once')
    .action((count: string, opts: Record<string, string>) =>
      run(() => approveLeaversCommand(io, globals(), count, opts))(),
    );

  const nhi = program
    .command('nhi')
    .description('non-human identities: owners, hand-overs when an owner leaves, credentials');
  nhi
    .command('list')
    .description('non-human identities whose owner is gone, whose hand-over is pending, or whose credential is due')
    .option('--all', 'every non-human identity')
    .action((opts: { all?: boolean }) => run(() => nhiListCommand(io, globals(), opts))());
  nhi
    .command('confirm')
    .description('take over a non-human identity whose owner left (as the person asked)')
    .argument('<nhi>', 'the non-human identity')
    .addHelpText('after', '\nThe person taking it over is the actor: tenure --as ID nhi confirm NHI (or TENURE_ACTOR).')
    .action((id: string) => run(() => nhiConfirmCommand(io, globals(), id, { as: requiredActor('nhi confirm') }))());

  const review = program
    .command('review')
    .description('access reviews: reviewers keep or revoke each grant in a scope');
  review
    .command('start')
    .description('start a campaign: one item per identity and entitlement in scope, each with its reviewer')
    .requiredOption('--scope <scope>', 'role:ID, target:ID, manager:ID or nhi-owners')
    .option('--due <date>', 'when the reviewers should have decided')
    .addOption(
      new Option(
        '--default <decision>',
        'what closing does with undecided items (default: policies.reviews.no_response)',
      ).choices(['keep', 'revoke']),
    )
    .action((opts: Record<string, string>) => run(() => reviewStartCommand(io, globals(), opts))());
  review
    .command('decide')
    .description('keep or revoke one item, as its reviewer; a revoke sticks (roles do not grant it again)')
    .argument('<item>', 'item number (tenure review export)')
    .argument('<decision>', 'keep or revoke')
    .option('--comment <text>', 'why (required for a revoke)')
    .addHelpText(
      'after',
      '\nThe reviewer deciding is the actor: tenure --as ID review decide ITEM keep|revoke (or TENURE_ACTOR).',
    )
    .action((item: string, decision: string, opts: Record<string, string>) =>
      run(() => reviewDecideCommand(io, globals(), item, decision, { ...opts, as: requiredActor('review decide') }))(),
    );
  review
    .command('status')
    .description('progress per campaign and reviewer, and roles whose grants were revoked')
    .argument('[campaign]', 'one campaign')
    .action((campaign: string | undefined) => run(() => reviewStatusCommand(io, globals(), campaign))());
  review
    .command('close')
    .description('close a campaign: undecided items get its no-response default (keep or revoke)')
    .argument('<campaign>', 'campaign number')
    .action((campaign: string) => run(() => reviewCloseCommand(io, globals(), campaign))());
  review
    .command('export')
    .description('the evidence: item, reviewer, decision, comment, time (CSV or JSON)')
    .argument('<campaign>', 'campaign number')
    .addOption(new Option('--format <format>', 'csv (default) or json').choices(['csv', 'json']))
    .option('--out <file>', 'write to a file instead of stdout')
    .action((campaign: string, opts: Record<string, string>) =>
      run(() => reviewExportCommand(io, globals(), campaign, opts))(),
    );

  program
    .command('serve')
    .description('the service: REST API with scoped tokens, health, readiness and metrics, until SIGTERM')
    .addOption(new Option('--listen <host:port>', 'where to listen (default 127.0.0.1:7070)').argParser(listenFlag))
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--insecure-http', 'allow plain HTTP on an address other machines reach (TLS terminated in front)')
    .action(async (opts: Omit<ServeOptions, 'listen'> & { listen?: ListenAddress }) => {
      const { serveCommand } = await import('./serve.js');
      await run(() => serveCommand(io, globals(), { ...opts, listen: opts.listen ?? listenFlag(DEFAULT_LISTEN) }))();
    });

  const token = program.command('token').description('API tokens of tenure serve: shown once, stored hashed');
  token
    .command('create')
    .description('a token with its scopes; prints it once (stored as a SHA-256 hash)')
    .requiredOption('--name <name>', 'a name unique among live tokens')
    .addOption(
      new Option('--scopes <list>', 'comma-separated scopes (docs/api.md), e.g. governance:read,identities:read')
        .makeOptionMandatory()
        .argParser(scopeList()),
    )
    .option('--identity <id>', 'the identity the token acts for')
    .addOption(
      new Option('--expires <date>', 'when it stops working (default: 90 days from now)').argParser(
        dateFlag('--expires'),
      ),
    )
    .action(async (opts: { name: string; scopes: string[]; identity?: string; expires?: Date }) => {
      const { tokenCreateCommand } = await import('./token.js');
      await run(() => tokenCreateCommand(io, globals(), opts))();
    });
  token
    .command('list')
    .description('every token: scopes, live, expired or revoked, last use; never the secret')
    .action(async () => {
      const { tokenListCommand } = await import('./token.js');
      await run(() => tokenListCommand(io, globals()))();
    });
  token
    .command('revoke')
    .description('stop a token at once')
    .argument('<token>', 'its name or number (tenure token list)')
    .action(async (key: string) => {
      const { tokenRevokeCommand } = await import('./token.js');
      await run(() => tokenRevokeCommand(io, globals(), key))();
    });

  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description(
      'check the hash chain and every governed row against it; name the first altered, removed, inserted or reordered record',
    )
    .option('--expect-head <seq:hash>', 'fail unless the log still holds this head (as verify and export print it)')
    .action((opts: Record<string, string>) => run(() => auditVerifyCommand(io, globals(), opts))());
  audit
    .command('export')
    .description('write the audit log as JSON Lines, for a SIEM')
    .option('--since <date>', 'only records at or after this date')
    .option('--out <file>', 'write to a file instead of stdout')
    .action((opts: Record<string, string>) => run(() => auditExportCommand(io, globals(), opts))());

  program
    .command('apply')
    .description('carry out a saved plan (refused when stale), or plan and apply in one step')
    .argument('[plan]', 'a plan saved with tenure plan --out')
    .addOption(
      new Option(
        '--allow-deprovision <n>',
        'allow up to n accounts per target to lose access past the deprovisioning breaker (needs --reason; recorded as an approval)',
      ).argParser(wholeNumber('--allow-deprovision', 1, 10_000_000)),
    )
    .addOption(reasonOption('why so much access goes at once (with --allow-deprovision)'))
    .addOption(
      new Option('--concurrency <n>', 'operations in flight per target (default 8)').argParser(
        wholeNumber('--concurrency', 1, 256),
      ),
    )
    .addOption(
      new Option('--rate <n>', 'operations started per second, per target (default: no limit)').argParser(
        positiveNumber('--rate', 100_000),
      ),
    )
    .addOption(limitOption('operation sentences shown (default 30; 0 for the summary only)', 0))
    .addOption(identityOption('plan and apply the changes of this identity only (repeat for more): provision now'))
    .action((file: string | undefined, opts: ApplyOptions) => run(() => applyCommand(io, globals(), file, opts))());

  const records = program
    .command('records')
    .description("push records into a source in its own field names, as an HR system or the service's API does");
  records
    .command('push')
    .description("each record replaces its identity's record in the source (validated like a feed row); others stay")
    .argument('<source>', 'the source id')
    .argument('<file>', 'a JSON array of records, or {"records": [...]}; - for standard input')
    .option('--apply', 'then plan and apply the changes of the identities it touched (provision now)')
    .addOption(limitOption('events and operation sentences shown (default 20)'))
    .action(async (source: string, file: string, opts: { apply?: boolean; limit?: number }) => {
      const { recordsPushCommand } = await import('./records.js');
      await run(() => recordsPushCommand(io, globals(), source, file, opts))();
    });
  records
    .command('remove')
    .description('the identities with these keys leave the source (a leaver each)')
    .argument('<source>', 'the source id')
    .argument('<keys...>', 'the keys of the identities that leave')
    .option('--apply', 'then plan and apply the changes of those identities (provision now)')
    .addOption(limitOption('events and operation sentences shown (default 20)'))
    .action(async (source: string, keys: string[], opts: { apply?: boolean; limit?: number }) => {
      const { recordsRemoveCommand } = await import('./records.js');
      await run(() => recordsRemoveCommand(io, globals(), source, keys, opts))();
    });

  // --people, --roles and --seed belong to `demo` and are read by `demo generate` too.
  const demo = program
    .command('demo')
    .description('a whole synthetic organisation, end to end, on embedded defaults')
    .addOption(
      new Option('--people <n>', 'people in the organisation')
        .argParser(wholeNumber('--people', 1, 1_000_000))
        .default(2000),
    )
    .addOption(
      new Option('--roles <n>', 'roles in the organisation').argParser(wholeNumber('--roles', 1, 100_000)).default(120),
    )
    .addOption(
      new Option('--seed <n>', 'random seed (same seed, same organisation)')
        .argParser(wholeNumber('--seed', 0, 2 ** 31))
        .default(7),
    )
    .option('--dir <folder>', 'where to write the organisation', '.tenure/demo')
    .action((opts: DemoOptions) => run(() => demoCommand(io, globals(), opts))());
  demo
    .command('generate')
    .description('write a realistic synthetic organisation (policy, HR feed, non-human identities, target snapshots)')
    .option('--out <folder>', 'output folder', 'tenure-demo')
    .addHelpText(
      'after',
      "\nSize and seed are demo's options: tenure demo generate --people 1000 --roles 50 --seed 1 --out acme",
    )
    .action((_opts: unknown, cmd: Command) =>
      run(() => demoGenerateCommand(io, globals(), cmd.optsWithGlobals<DemoOptions>()))(),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (thrown) {
    // A rule that ran past its time budget, wherever the engine ran: a message naming it, exit 1.
    const e =
      thrown instanceof RuleBudgetExceeded
        ? new UserError('a rule ran past its time budget; nothing was changed', EXIT.invalid, [thrown.diagnostic])
        : thrown;
    if (e instanceof CommanderError) {
      // An explicit --help or --version succeeds; help shown because no command was given is a usage error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof UserError) {
      const json = argv.includes('--json');
      if (json) io.out(toJson({ ok: false, error: e.message, hint: e.hint, diagnostics: e.diagnostics }));
      else {
        for (const d of e.diagnostics) io.err(formatDiagnostic(d));
        io.err(`tenure: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      }
      return e.exitCode;
    }
    throw e;
  }
  return code;
}
