/**
 * Synthetic organisations for demos, benchmarks and tests: a policy (`tenure.yaml`), an HR feed
 * (`hr.csv`), non-human identities (`nhi.json`) and slightly drifted target snapshots
 * (`actual/*.json`), all derived from a seed.
 *
 * Pure: no I/O, no clock; time and seed are parameters and the same options give byte-identical
 * files. The roles are generated from structured rules (`Cond`) that are both rendered to CEL and
 * evaluated here in plain TypeScript, so the snapshots can approximate what the engine will want.
 */

type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
const RISK_ORDER: readonly RiskLevel[] = ['low', 'medium', 'high', 'critical'];

export interface GenerateOrganisationOptions {
  /** People in the HR feed (an integer >= 1). */
  readonly people: number;
  /** Exactly this many roles in the policy (an integer >= 0). */
  readonly roles: number;
  readonly seed: number;
  /** The reference time: every date in the feeds and snapshots is relative to it. */
  readonly asOf: Date;
  /**
   * How the targets hold their accounts: `memory` snapshots (`actual/*.json`, the default) or
   * `csv` targets (`targets/<id>/accounts.csv` and `memberships.csv`) that `tenure apply` writes.
   */
  readonly targets?: 'memory' | 'csv';
}

export interface GeneratedOrganisationStats {
  readonly people: number;
  readonly employees: number;
  readonly contractors: number;
  readonly active: number;
  readonly leave: number;
  readonly terminated: number;
  readonly preHire: number;
  readonly nonHumans: number;
  readonly departments: number;
  readonly locations: number;
  readonly costCenters: number;
  readonly entitlements: number;
  readonly roles: number;
  /** Roles whose rule has no equality, membership or prefix test to index on. */
  readonly unindexedRoles: number;
  readonly separationOfDutiesRules: number;
  /** Accounts per target snapshot, orphans included. */
  readonly accounts: Readonly<Record<string, number>>;
  /** Accounts (over all targets) that no identity explains. */
  readonly orphanAccounts: number;
  /** Mean number of roles whose rule holds, over active people (this file's own evaluation). */
  readonly averageRolesMatched: number;
  /** Active identities (people and non-humans) whose rule holds, per role id. */
  readonly roleMatches: Readonly<Record<string, number>>;
}

export interface GeneratedOrganisation {
  /** Relative path → file text. */
  readonly files: Readonly<Record<string, string>>;
  readonly stats: GeneratedOrganisationStats;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** sfc32, seeded from the seed and a stream name so each part of the output has its own stream. */
class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream: string) {
    this.a = hashString(`${seed}|${stream}`);
    this.b = hashString(`${stream}|${seed}`);
    this.c = hashString(`${stream}#${seed}#${stream}`);
    this.d = 1;
    for (let i = 0; i < 16; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** In [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** In [lo, hi], both included. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return item(items, this.int(items.length));
  }

  /** Up to `k` distinct items, in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice();
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(copy.length - i);
      const tmp = item(copy, i);
      copy[i] = item(copy, j);
      copy[j] = tmp;
    }
    return copy.slice(0, n);
  }
}

function item<T>(items: readonly T[], index: number): T {
  const value = items[index];
  if (value === undefined) throw new RangeError(`index ${index} out of range (${items.length})`);
  return value;
}

/** Picks indexes in proportion to fixed weights (binary search over the running sums). */
class WeightedTable {
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(weights: readonly number[]) {
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += Math.max(0, w);
      this.cumulative[i] = sum;
    });
    this.total = sum;
  }

  pick(rng: Random): number {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] ?? 0) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** A random order in which heavier items tend to come first (Efraimidis-Spirakis keys). */
function weightedOrder<T>(rng: Random, items: readonly T[], weight: (t: T) => number): T[] {
  const keyed = items.map((t, i) => {
    const w = weight(t);
    return { t, i, key: w > 0 ? Math.pow(rng.next() || 1e-12, 1 / w) : -1 - rng.next() };
  });
  keyed.sort((x, y) => y.key - x.key || x.i - y.i);
  return keyed.map((k) => k.t);
}

// ---------------------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------------------

interface DepartmentSpec {
  readonly name: string;
  /** Used in manager titles: `${short} Manager`, `${short} Team Lead`. */
  readonly short: string;
  readonly weight: number;
  /** Individual-contributor base titles, the most common first. */
  readonly titles: readonly string[];
  readonly apps: readonly string[];
  readonly clearances?: Readonly<Record<string, number>>;
  /** Its data is sensitive: warehouse roles are one risk level higher. */
  readonly sensitive?: boolean;
  readonly extraManagerTitles?: readonly string[];
}

// The first seven are the ones every organisation has (and the ones examples/acme uses).
// prettier-ignore
const DEPARTMENTS: readonly DepartmentSpec[] = [
  { name: 'Engineering', short: 'Engineering', weight: 20, titles: ['Software Engineer', 'Backend Engineer', 'Frontend Engineer', 'Site Reliability Engineer', 'QA Engineer', 'Mobile Engineer'], apps: ['github', 'jira', 'datadog', 'aws-console', 'sentry'], clearances: { 'prod-access': 0.2 } },
  { name: 'Sales', short: 'Sales', weight: 14, titles: ['Account Executive', 'Sales Development Representative', 'Solutions Engineer', 'Sales Operations Analyst'], apps: ['salesforce', 'gong', 'docusign', 'hubspot'] },
  { name: 'Finance', short: 'Finance', weight: 5, titles: ['Accountant', 'Accounts Payable Specialist', 'Financial Analyst', 'Accounts Receivable Specialist', 'Payments Analyst'], apps: ['erp', 'expensify', 'coupa'], clearances: { sox: 0.35, pci: 0.12 }, sensitive: true, extraManagerTitles: ['Manager, Accounts Payable'] },
  { name: 'HR', short: 'HR', weight: 3, titles: ['HR Business Partner', 'Recruiter', 'People Operations Specialist', 'Compensation Analyst'], apps: ['workday', 'greenhouse', 'lattice'], clearances: { pii: 0.5 }, sensitive: true },
  { name: 'Support', short: 'Support', weight: 10, titles: ['Customer Support Agent', 'Support Engineer', 'Technical Account Manager'], apps: ['zendesk', 'salesforce', 'servicenow'], clearances: { pii: 0.15, hipaa: 0.04 } },
  { name: 'Security', short: 'Security', weight: 2, titles: ['Security Engineer', 'Security Analyst', 'Detection Engineer', 'Penetration Tester'], apps: ['splunk', 'crowdstrike', 'vault', 'okta'], clearances: { secret: 0.4, 'prod-access': 0.5 }, sensitive: true },
  { name: 'Data', short: 'Data', weight: 4, titles: ['Data Analyst', 'Data Engineer', 'Data Scientist', 'Analytics Engineer'], apps: ['tableau', 'dbt', 'airflow'], clearances: { pii: 0.2, gdpr: 0.1 } },
  { name: 'Marketing', short: 'Marketing', weight: 5, titles: ['Content Marketer', 'Product Marketing Manager', 'Growth Marketer', 'Marketing Operations Analyst'], apps: ['hubspot', 'figma', 'amplitude'] },
  { name: 'Product', short: 'Product', weight: 4, titles: ['Product Manager', 'Product Owner', 'Technical Program Manager'], apps: ['jira', 'figma', 'amplitude'] },
  { name: 'Platform', short: 'Platform', weight: 6, titles: ['Platform Engineer', 'Infrastructure Engineer', 'Cloud Engineer', 'Database Administrator'], apps: ['kubernetes', 'aws-console', 'datadog', 'pagerduty'], clearances: { 'prod-access': 0.6 } },
  { name: 'Customer Success', short: 'Customer Success', weight: 5, titles: ['Customer Success Manager', 'Onboarding Specialist', 'Renewals Specialist'], apps: ['salesforce', 'zendesk', 'gong'] },
  { name: 'IT', short: 'IT', weight: 3, titles: ['IT Support Specialist', 'Systems Administrator', 'Network Engineer', 'Identity Engineer'], apps: ['jamf', 'servicenow', 'okta'], clearances: { 'prod-access': 0.25 } },
  { name: 'Legal', short: 'Legal', weight: 1.5, titles: ['Counsel', 'Paralegal', 'Contracts Manager', 'Privacy Counsel'], apps: ['ironclad', 'docusign'], clearances: { gdpr: 0.4, 'export-control': 0.2 }, sensitive: true },
  { name: 'Operations', short: 'Operations', weight: 4, titles: ['Operations Analyst', 'Business Operations Specialist', 'Program Coordinator'], apps: ['servicenow', 'tableau'] },
  { name: 'Professional Services', short: 'Services', weight: 3, titles: ['Implementation Consultant', 'Solutions Architect', 'Project Manager'], apps: ['salesforce', 'jira', 'servicenow'] },
  { name: 'Research', short: 'Research', weight: 2, titles: ['Research Scientist', 'Research Engineer', 'Machine Learning Engineer'], apps: ['github', 'aws-console', 'jira'], clearances: { 'export-control': 0.15 } },
  { name: 'Design', short: 'Design', weight: 2, titles: ['Product Designer', 'Visual Designer', 'UX Researcher', 'UX Writer'], apps: ['figma', 'jira'] },
  { name: 'Quality Assurance', short: 'QA', weight: 2, titles: ['QA Analyst', 'Test Engineer', 'Test Automation Engineer'], apps: ['jira', 'github', 'jenkins'] },
  { name: 'Supply Chain', short: 'Supply Chain', weight: 2, titles: ['Logistics Coordinator', 'Supply Chain Analyst', 'Demand Planner'], apps: ['erp', 'coupa'], clearances: { 'export-control': 0.2 } },
  { name: 'Business Development', short: 'Partnerships', weight: 1.5, titles: ['Partner Manager', 'Business Development Representative', 'Alliances Manager'], apps: ['salesforce', 'docusign'] },
  { name: 'Facilities', short: 'Facilities', weight: 1.5, titles: ['Facilities Coordinator', 'Workplace Specialist', 'Office Manager'], apps: ['servicenow'] },
  { name: 'Procurement', short: 'Procurement', weight: 1, titles: ['Buyer', 'Procurement Analyst', 'Vendor Manager'], apps: ['coupa', 'erp'], sensitive: true },
  { name: 'Risk & Compliance', short: 'Compliance', weight: 1, titles: ['Compliance Analyst', 'Risk Analyst', 'Privacy Analyst'], apps: ['servicenow', 'ironclad'], clearances: { sox: 0.3, gdpr: 0.3 }, sensitive: true },
  { name: 'Internal Audit', short: 'Audit', weight: 0.8, titles: ['Internal Auditor', 'IT Auditor'], apps: ['erp', 'splunk', 'tableau'], clearances: { sox: 0.6 }, sensitive: true },
  { name: 'Training', short: 'Training', weight: 0.8, titles: ['Instructional Designer', 'Technical Trainer'], apps: ['lms', 'figma'] },
  { name: 'Communications', short: 'Communications', weight: 0.8, titles: ['Communications Specialist', 'Public Relations Manager', 'Internal Communications Manager'], apps: ['hubspot'] },
  { name: 'Payroll', short: 'Payroll', weight: 0.7, titles: ['Payroll Specialist', 'Payroll Analyst'], apps: ['adp', 'workday'], clearances: { pii: 0.6 }, sensitive: true },
  { name: 'Treasury', short: 'Treasury', weight: 0.6, titles: ['Treasury Analyst', 'Cash Manager'], apps: ['erp', 'kyriba'], clearances: { pci: 0.3, sox: 0.3 }, sensitive: true },
  { name: 'Tax', short: 'Tax', weight: 0.6, titles: ['Tax Analyst', 'Tax Accountant'], apps: ['erp'], clearances: { sox: 0.2 }, sensitive: true },
  { name: 'Strategy', short: 'Strategy', weight: 0.5, titles: ['Strategy Analyst', 'Corporate Development Analyst'], apps: ['tableau'] },
];

const EXECUTIVE_DEPARTMENT = 'Executive Office';
const EXECUTIVE_COST_CENTER = 'CC0001';
const C_LEVEL_TITLES = [
  'Chief Technology Officer',
  'Chief Financial Officer',
  'Chief Operating Officer',
  'Chief Revenue Officer',
  'Chief People Officer',
  'Chief Information Security Officer',
  'Chief Marketing Officer',
  'Chief Product Officer',
];

// Ordered so the first few are spread over regions (small organisations use only the first ones).
// prettier-ignore
const LOCATIONS: readonly (readonly [string, string])[] = [
  ['New York', 'americas-east'], ['London', 'emea-west'], ['Paris', 'emea-west'], ['Berlin', 'emea-central'],
  ['San Francisco', 'americas-west'], ['Singapore', 'apac'], ['Lyon', 'emea-west'], ['Toronto', 'americas-east'],
  ['Bangalore', 'apac'], ['Dublin', 'emea-west'], ['Austin', 'americas-central'], ['Zürich', 'emea-central'],
  ['São Paulo', 'latam'], ['Tokyo', 'apac'], ['Sydney', 'apac'], ['Amsterdam', 'emea-west'],
  ['Chicago', 'americas-central'], ['Kraków', 'emea-central'], ['Seattle', 'americas-west'], ['Madrid', 'emea-west'],
  ['Montréal', 'americas-east'], ['Munich', 'emea-central'], ['Mexico City', 'latam'], ['Boston', 'americas-east'],
  ['Warsaw', 'emea-central'], ['Tel Aviv', 'mea'], ['Dubai', 'mea'], ['Stockholm', 'nordics'],
  ['Copenhagen', 'nordics'], ['Hong Kong', 'apac'], ['Lisbon', 'emea-west'], ['Bogotá', 'latam'],
  ['Vienna', 'emea-central'], ['Seoul', 'apac'], ['Oslo', 'nordics'], ['Helsinki', 'nordics'],
  ['Cape Town', 'mea'], ['Buenos Aires', 'latam'], ['Melbourne', 'apac'], ['Denver', 'americas-west'],
];

const CLEARANCES = ['pci', 'sox', 'pii', 'gdpr', 'hipaa', 'secret', 'prod-access', 'export-control'];

// prettier-ignore
const PROJECTS = [
  'apollo', 'borealis', 'cobalt', 'delta', 'ember', 'falcon', 'granite', 'helios', 'indigo', 'juniper',
  'kestrel', 'lumen', 'meridian', 'nebula', 'onyx', 'polaris', 'quasar', 'raven', 'sierra', 'titan',
  'umbra', 'vega', 'willow', 'xenon', 'yarrow', 'zephyr', 'atlas', 'beacon', 'cascade', 'dune',
  'eclipse', 'fjord', 'glacier', 'harbor', 'ion', 'jade', 'krypton', 'lotus', 'mosaic', 'nova',
  'orbit', 'pioneer', 'quartz', 'redwood', 'summit', 'tundra', 'unity', 'vertex', 'wave', 'zenith',
];

/** App → its roles, the everyday one first and the most powerful one last. */
// prettier-ignore
const APPS: readonly (readonly [string, readonly (readonly [string, RiskLevel])[]])[] = [
  ['github', [['user', 'low'], ['maintainer', 'medium'], ['admin', 'critical']]],
  ['jira', [['user', 'low'], ['project-admin', 'medium'], ['admin', 'high']]],
  ['confluence', [['user', 'low'], ['space-admin', 'medium']]],
  ['datadog', [['viewer', 'low'], ['editor', 'medium'], ['admin', 'high']]],
  ['aws-console', [['readonly', 'medium'], ['developer', 'high'], ['admin', 'critical']]],
  ['sentry', [['user', 'low'], ['admin', 'medium']]],
  ['pagerduty', [['responder', 'medium'], ['admin', 'high']]],
  ['kubernetes', [['viewer', 'medium'], ['deployer', 'high'], ['cluster-admin', 'critical']]],
  ['jenkins', [['user', 'low'], ['release-approver', 'high'], ['admin', 'critical']]],
  ['salesforce', [['user', 'low'], ['sales-ops', 'medium'], ['admin', 'high']]],
  ['gong', [['user', 'low'], ['admin', 'medium']]],
  ['docusign', [['sender', 'low'], ['admin', 'medium']]],
  ['hubspot', [['user', 'low'], ['admin', 'medium']]],
  ['erp', [['user', 'low'], ['ap-clerk', 'medium'], ['payment-create', 'high'], ['payment-approve', 'critical'], ['gl-close', 'high'], ['admin', 'critical']]],
  ['expensify', [['user', 'low'], ['approver', 'medium']]],
  ['coupa', [['requester', 'low'], ['buyer', 'medium'], ['approver', 'high']]],
  ['kyriba', [['viewer', 'medium'], ['treasurer', 'critical']]],
  ['workday', [['employee', 'low'], ['manager', 'medium'], ['hr-partner', 'high'], ['compensation', 'high'], ['admin', 'critical']]],
  ['adp', [['viewer', 'medium'], ['payroll-processor', 'high'], ['payroll-approver', 'critical']]],
  ['greenhouse', [['interviewer', 'low'], ['recruiter', 'medium'], ['admin', 'high']]],
  ['lattice', [['user', 'low'], ['admin', 'medium']]],
  ['zendesk', [['agent', 'low'], ['supervisor', 'medium'], ['admin', 'high']]],
  ['servicenow', [['requester', 'low'], ['agent', 'medium'], ['admin', 'high']]],
  ['splunk', [['user', 'medium'], ['power', 'high'], ['admin', 'critical']]],
  ['crowdstrike', [['analyst', 'high'], ['admin', 'critical']]],
  ['vault', [['reader', 'high'], ['admin', 'critical']]],
  ['okta', [['helpdesk', 'high'], ['app-admin', 'high'], ['super-admin', 'critical']]],
  ['jamf', [['technician', 'medium'], ['admin', 'high']]],
  ['tableau', [['viewer', 'low'], ['creator', 'medium'], ['admin', 'high']]],
  ['dbt', [['developer', 'medium'], ['admin', 'high']]],
  ['airflow', [['viewer', 'low'], ['operator', 'medium'], ['admin', 'high']]],
  ['figma', [['viewer', 'low'], ['editor', 'low']]],
  ['amplitude', [['viewer', 'low'], ['admin', 'medium']]],
  ['ironclad', [['user', 'low'], ['admin', 'medium']]],
  ['lms', [['learner', 'low'], ['author', 'low'], ['admin', 'medium']]],
  ['slack', [['member', 'low'], ['admin', 'high']]],
  ['zoom', [['user', 'low']]],
  ['1password', [['user', 'low'], ['admin', 'critical']]],
];

// prettier-ignore
const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
  'Christopher', 'Lisa', 'Daniel', 'Nancy', 'Matthew', 'Sandra', 'Anthony', 'Ashley', 'Mark', 'Emily',
  'Zoë', 'José', 'Łukasz', 'Chloé', 'Björn', 'Søren', 'François', 'Jürgen', 'Siobhán', 'Noémie',
  'Małgorzata', 'İlkay', 'Dóra', 'Ángel', 'Renée', 'Zoltán', 'Ana', 'Lucía', 'Mateo', 'Sofía',
  'Hugo', 'Léa', 'Camille', 'Élodie', 'Thijs', 'Aoife', 'Niamh', 'Seán', 'Bartosz', 'Agnieszka',
  'Wojciech', 'Giulia', 'Matteo', 'Francesca', 'Luca', 'Hiroshi', 'Yuki', 'Haruto', 'Sakura', 'Wei',
  'Mei', 'Jun', 'Priya', 'Arjun', 'Ananya', 'Rohan', 'Aisha', 'Omar', 'Fatima', 'Youssef',
  'Amara', 'Chidi', 'Ngozi', 'Kwame', 'Lars', 'Ingrid', 'Astrid', 'Mikael', 'Olga', 'Dmitri',
  'Anastasia', 'Minh', 'Thảo', 'Kofi', 'Mariana', 'João', 'Gonçalo', 'Inês', 'Maximilian', 'Lena',
  'Jonas', 'Hannah', 'Felix', 'Ava', 'Noah', 'Liam', 'Olivia', 'Emma', 'Ethan', 'Mia',
  'Lucas', 'Isabella', 'Benjamin', 'Charlotte', 'Amelia', 'Oliver', 'Grace', 'Sebastián', 'Valentina', 'Diego',
  'Camila', 'Tomás', 'Ilse', 'Eamon', 'Róisín', 'Guðrún', 'Þórir', 'Sven', 'Freya', 'Kenji',
];

// prettier-ignore
const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee',
  'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King',
  'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams', 'Nelson', 'Baker',
  "O'Brien", "O'Neill", "O'Connor", "D'Angelo", "D'Souza", "N'Diaye", 'McAllister', 'MacDonald', 'Müller', 'Schmidt',
  'Schröder', 'Weiß', 'Fischer', 'Kowalski', 'Nowak', 'Wiśniewski', 'Wójcik', 'Dąbrowski', 'Lewandowski', 'Dubois',
  'Lefèvre', 'Moreau', 'Girard', 'Bonnet', 'Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'García',
  'Fernández', 'González', 'Rodríguez', 'Martínez', 'Sánchez', 'Pérez', 'Gómez', 'Jiménez', 'Núñez', 'Silva',
  'Santos', 'Oliveira', 'Conceição', 'Gonçalves', 'Pereira', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker',
  'Andersson', 'Johansson', 'Karlsson', 'Nilsson', 'Eriksson', 'Larsen', 'Sørensen', 'Jensen', 'Nielsen', 'Hansen',
  'Virtanen', 'Korhonen', 'Mäkinen', 'Nieminen', 'Tanaka', 'Suzuki', 'Takahashi', 'Watanabe', 'Sato', 'Kim',
  'Park', 'Choi', 'Chen', 'Wang', 'Zhang', 'Liu', 'Huang', 'Patel', 'Sharma', 'Singh',
  'Gupta', 'Iyer', 'Reddy', 'Khan', 'Ahmed', 'Hassan', 'Ali', 'Okafor', 'Adeyemi', 'Mensah',
  'Nkosi', 'Ivanov', 'Petrov', 'Popescu', 'Nagy', 'Horváth', 'Kovács', 'Novák', 'Dvořák', 'Yılmaz',
  'Öztürk', 'Papadopoulos', 'Christensen', 'Ó Briain', 'García-López', 'Trần', 'Lê', 'Phạm', 'Þórsdóttir', 'Guðmundsson',
];

const NICKNAMES = ['Bobby', 'Kasia', 'Jim', 'Liz', 'Max', 'Sasha', 'Nico', 'Teddy'];

const NHI_TYPES: readonly (readonly [string, string, number])[] = [
  ['service_account', 'svc', 0.45],
  ['api_key', 'key', 0.2],
  ['token', 'tok', 0.15],
  ['certificate', 'cert', 0.1],
  ['ai_agent', 'agent', 0.1],
];
// prettier-ignore
const NHI_SYSTEMS = [
  'payroll', 'erp', 'crm', 'github', 'ci', 'warehouse', 'kubernetes', 'monitoring', 'backup', 'hris',
  'ticketing', 'billing', 'search', 'email', 'identity', 'marketing', 'support', 'storage',
];
// prettier-ignore
const NHI_PURPOSES = [
  'sync', 'export', 'import', 'deploy', 'reporting', 'backup', 'monitor', 'ingest', 'notify', 'reconcile',
  'scanner', 'loader', 'webhook', 'triage', 'assistant', 'summarizer', 'archiver', 'provisioner',
];

// prettier-ignore
const ORPHAN_NAMES = [
  'legacy-admin', 'test-user', 'temp-migration', 'old-jenkins', 'svc-legacy-ftp', 'admin2', 'contractor-tmp',
  'training-01', 'demo-account', 'breakglass-old', 'scanner-trial', 'qa-shared',
];

const LEVELS = ['Junior', '', 'Senior', 'Staff', 'Principal'] as const;
const LEVEL_WEIGHTS = [0.15, 0.35, 0.3, 0.12, 0.08];
const LEVEL_GRADES: readonly (readonly [number, number])[] = [
  [1, 2],
  [3, 4],
  [5, 6],
  [7, 7],
  [8, 8],
];

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

const FOLD: Readonly<Record<string, string>> = {
  ł: 'l',
  Ł: 'L',
  ø: 'o',
  Ø: 'O',
  ß: 'ss',
  æ: 'ae',
  Æ: 'AE',
  đ: 'd',
  Đ: 'D',
  þ: 'th',
  Þ: 'Th',
  ð: 'd',
  ı: 'i',
  œ: 'oe',
};

/** Lower-case ASCII letters and digits, everything else dropped (`Łukasz` → `lukasz`). */
function asciiFold(text: string): string {
  let out = '';
  for (const ch of text) out += FOLD[ch] ?? ch;
  return out
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** `Risk & Compliance` → `risk-compliance`, `São Paulo` → `sao-paulo`. */
function slug(text: string): string {
  let out = '';
  for (const ch of text) out += FOLD[ch] ?? ch;
  return out
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** RFC 4180: quote iff the field holds a comma, a quote, CR or LF; double the quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A YAML scalar: plain when unambiguous, else single-quoted. */
function yamlScalar(value: string): string {
  const plain =
    /^[A-Za-z][A-Za-z0-9 _./:-]*$/.test(value) &&
    !/:( |$)/.test(value) &&
    !/ $/.test(value) &&
    !/^(true|false|null|yes|no|on|off|y|n)$/i.test(value);
  return plain ? value : `'${value.replace(/'/g, "''")}'`;
}

function yamlList(values: readonly string[]): string {
  return `[${values.map(yamlScalar).join(', ')}]`;
}

function celString(value: string): string {
  return JSON.stringify(value);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

// ---------------------------------------------------------------------------------------------
// Rules: structured, rendered to CEL and evaluated here
// ---------------------------------------------------------------------------------------------

type StringAttribute = 'department' | 'location' | 'cost_center' | 'title' | 'kind' | 'system';

type Cond =
  | { readonly op: 'eq'; readonly attr: StringAttribute; readonly value: string }
  | { readonly op: 'in'; readonly attr: StringAttribute; readonly values: readonly string[] }
  | { readonly op: 'prefix'; readonly attr: StringAttribute; readonly value: string }
  | { readonly op: 'suffix'; readonly attr: StringAttribute; readonly value: string }
  | { readonly op: 'contains'; readonly attr: StringAttribute; readonly value: string }
  | { readonly op: 'holds'; readonly attr: 'clearances'; readonly value: string }
  | { readonly op: 'grade'; readonly cmp: '>=' | '<='; readonly value: number }
  | { readonly op: 'startedWithin'; readonly days: number }
  | { readonly op: 'not'; readonly cond: Cond }
  | { readonly op: 'and'; readonly conds: readonly Cond[] }
  | { readonly op: 'or'; readonly conds: readonly Cond[] };

const eq = (attr: StringAttribute, value: string): Cond => ({ op: 'eq', attr, value });
const isIn = (attr: StringAttribute, values: readonly string[]): Cond =>
  values.length === 1 ? eq(attr, item(values, 0)) : { op: 'in', attr, values };
const prefix = (attr: StringAttribute, value: string): Cond => ({ op: 'prefix', attr, value });
const holds = (value: string): Cond => ({ op: 'holds', attr: 'clearances', value });
const and = (...conds: Cond[]): Cond => (conds.length === 1 ? item(conds, 0) : { op: 'and', conds });
const or = (...conds: Cond[]): Cond => (conds.length === 1 ? item(conds, 0) : { op: 'or', conds });

function renderCel(c: Cond): string {
  const child = (x: Cond): string => (x.op === 'and' || x.op === 'or' ? `(${renderCel(x)})` : renderCel(x));
  switch (c.op) {
    case 'eq':
      return `identity.${c.attr} == ${celString(c.value)}`;
    case 'in':
      return `identity.${c.attr} in [${c.values.map(celString).join(', ')}]`;
    case 'prefix':
      return `identity.${c.attr}.startsWith(${celString(c.value)})`;
    case 'suffix':
      return `identity.${c.attr}.endsWith(${celString(c.value)})`;
    case 'contains':
      return `identity.${c.attr}.contains(${celString(c.value)})`;
    case 'holds':
      return `${celString(c.value)} in identity.${c.attr}`;
    case 'grade':
      return `identity.grade ${c.cmp} ${c.value}`;
    case 'startedWithin':
      return `identity.start_date > now - duration("${c.days * 24}h")`;
    case 'not':
      return `!(${renderCel(c.cond)})`;
    case 'and':
      return c.conds.map(child).join(' && ');
    case 'or':
      return c.conds.map(child).join(' || ');
  }
}

/** What a rule sees of an identity; absent attributes are undefined. */
interface RuleSubject {
  readonly kind: string;
  readonly department?: string;
  readonly location?: string;
  readonly cost_center?: string;
  readonly title?: string;
  readonly system?: string;
  readonly grade?: number;
  readonly clearances?: readonly string[];
  /** Epoch milliseconds. */
  readonly startMs?: number;
}

const TRUE = 1;
const FALSE = 0;
const ABSENT = -1;
type Truth = typeof TRUE | typeof FALSE | typeof ABSENT;

/** CEL semantics: reading an absent attribute is an error; `&&`/`||` absorb errors like CEL does. */
function evaluate(c: Cond, s: RuleSubject, nowMs: number): Truth {
  switch (c.op) {
    case 'eq': {
      const v = s[c.attr];
      return v === undefined ? ABSENT : v === c.value ? TRUE : FALSE;
    }
    case 'in': {
      const v = s[c.attr];
      return v === undefined ? ABSENT : c.values.includes(v) ? TRUE : FALSE;
    }
    case 'prefix': {
      const v = s[c.attr];
      return v === undefined ? ABSENT : v.startsWith(c.value) ? TRUE : FALSE;
    }
    case 'suffix': {
      const v = s[c.attr];
      return v === undefined ? ABSENT : v.endsWith(c.value) ? TRUE : FALSE;
    }
    case 'contains': {
      const v = s[c.attr];
      return v === undefined ? ABSENT : v.includes(c.value) ? TRUE : FALSE;
    }
    case 'holds':
      return s.clearances === undefined ? ABSENT : s.clearances.includes(c.value) ? TRUE : FALSE;
    case 'grade':
      if (s.grade === undefined) return ABSENT;
      return (c.cmp === '>=' ? s.grade >= c.value : s.grade <= c.value) ? TRUE : FALSE;
    case 'startedWithin':
      if (s.startMs === undefined) return ABSENT;
      return s.startMs > nowMs - c.days * DAY_MS ? TRUE : FALSE;
    case 'not': {
      const v = evaluate(c.cond, s, nowMs);
      return v === ABSENT ? ABSENT : v === TRUE ? FALSE : TRUE;
    }
    case 'and': {
      let result: Truth = TRUE;
      for (const x of c.conds) {
        const v = evaluate(x, s, nowMs);
        if (v === FALSE) return FALSE;
        if (v === ABSENT) result = ABSENT;
      }
      return result;
    }
    case 'or': {
      let result: Truth = FALSE;
      for (const x of c.conds) {
        const v = evaluate(x, s, nowMs);
        if (v === TRUE) return TRUE;
        if (v === ABSENT) result = ABSENT;
      }
      return result;
    }
  }
}

/**
 * Index keys a rule can be found under (`department=Sales`, `title^Senior`), or undefined when
 * it must be evaluated for everyone. Mirrors what docs/policy.md calls fast rules.
 */
function indexKeys(c: Cond): string[] | undefined {
  switch (c.op) {
    case 'eq':
      return [`${c.attr}=${c.value}`];
    case 'in':
      return c.values.map((v) => `${c.attr}=${v}`);
    case 'holds':
      return [`${c.attr}=${c.value}`];
    case 'prefix':
      return [`${c.attr}^${c.value}`];
    case 'and': {
      let best: string[] | undefined;
      for (const x of c.conds) {
        const keys = indexKeys(x);
        if (
          keys &&
          (!best || keys.length < best.length || (keys.length === best.length && !keys[0]?.startsWith('kind=')))
        )
          best = keys;
      }
      return best;
    }
    case 'or': {
      const all: string[] = [];
      for (const x of c.conds) {
        const keys = indexKeys(x);
        if (!keys) return undefined;
        all.push(...keys);
      }
      return all;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------------

type WorkerType = 'Employee' | 'Contractor';
type Status = 'Active' | 'Leave' | 'Terminated' | 'Pending';

interface Person {
  readonly index: number;
  readonly id: string;
  firstName: string;
  lastName: string;
  email: string;
  worker: WorkerType;
  status: Status;
  /** Index into the organisation's departments, -1 for the executive office. */
  dept: number;
  title: string;
  location: number;
  costCenter: string;
  grade: number;
  clearances: string[];
  manager: number;
  reports: number;
  hire: number;
  start: number;
  end: number | undefined;
}

interface Department {
  readonly index: number;
  readonly spec: DepartmentSpec;
  readonly slug: string;
  readonly db: string;
  readonly costCenters: string[];
  size: number;
  head: number;
}

interface Organisation {
  readonly people: Person[];
  readonly departments: Department[];
  readonly locations: readonly (readonly [string, string])[];
  readonly projects: readonly string[];
  readonly asOfDay: number;
}

/** Largest-remainder split of `total` in proportion to `weights`, at least one each when possible. */
function allocate(total: number, weights: readonly number[]): number[] {
  const n = weights.length;
  if (n === 0) return [];
  const out = new Array<number>(n).fill(0);
  let rest = total;
  if (total >= n) {
    out.fill(1);
    rest -= n;
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (rest * w) / sum);
  let given = 0;
  exact.forEach((x, i) => {
    const f = Math.floor(x);
    out[i] = (out[i] ?? 0) + f;
    given += f;
  });
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; k < rest - given; k++) {
    const slot = item(order, k % n).i;
    out[slot] = (out[slot] ?? 0) + 1;
  }
  return out;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

function generatePeople(n: number, seed: number, asOfDay: number): Organisation {
  const rng = new Random(seed, 'people');
  const width = Math.max(6, String(n).length);
  const idOf = (i: number): string => `E${pad(i + 1, width)}`;

  let departmentCount = clamp(Math.round(Math.sqrt(n) / 10), 7, DEPARTMENTS.length);
  departmentCount = Math.min(departmentCount, Math.max(0, n - 1));
  const cLevels = departmentCount > 12 ? Math.ceil(departmentCount / 4) : 0;
  const locationCount = clamp(Math.round(Math.sqrt(n) / 8), 4, LOCATIONS.length);
  const locations = LOCATIONS.slice(0, locationCount);
  const projects = PROJECTS.slice(0, clamp(Math.round(n / 2000), 4, PROJECTS.length));
  const costCenterTotal = clamp(Math.round(n / 500), 2 * departmentCount, 200);

  const specs = DEPARTMENTS.slice(0, departmentCount);
  const sizes = allocate(
    n - 1 - cLevels,
    specs.map((d) => d.weight),
  );
  const ccCounts = allocate(
    costCenterTotal,
    specs.map((d) => d.weight),
  );
  const departments: Department[] = specs.map((spec, d) => ({
    index: d,
    spec,
    slug: slug(spec.name),
    db: slug(spec.name).replace(/-/g, '_'),
    costCenters: Array.from({ length: Math.max(1, ccCounts[d] ?? 1) }, (_, k) => `CC${pad((d + 1) * 100 + k, 4)}`),
    size: sizes[d] ?? 0,
    head: -1,
  }));

  // Each department is a breadth-first tree (spans 3-12); the trees are then interleaved into one
  // order that keeps every manager before their reports.
  const parents: Int32Array[] = [];
  const depths: Int32Array[] = [];
  const reportCounts: Int32Array[] = [];
  for (const dept of departments) {
    const parent = new Int32Array(dept.size).fill(-1);
    const depth = new Int32Array(dept.size);
    const count = new Int32Array(dept.size);
    let next = 1;
    for (let m = 0; m < dept.size && next < dept.size; m++) {
      const span = rng.between(3, 12);
      for (let k = 0; k < span && next < dept.size; k++, next++) {
        parent[next] = m;
        depth[next] = (depth[m] ?? 0) + 1;
        count[m] = (count[m] ?? 0) + 1;
      }
    }
    parents.push(parent);
    depths.push(depth);
    reportCounts.push(count);
  }
  const total = n - 1 - cLevels;
  const keys = new Float64Array(total);
  const deptOf = new Int32Array(total);
  const localOf = new Int32Array(total);
  {
    let k = 0;
    for (const dept of departments) {
      for (let local = 0; local < dept.size; local++, k++) {
        keys[k] = (local + rng.next()) / dept.size;
        deptOf[k] = dept.index;
        localOf[k] = local;
      }
    }
  }
  const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => (keys[a] ?? 0) - (keys[b] ?? 0) || a - b);
  const globalOf = departments.map((d) => new Int32Array(d.size));
  order.forEach((k, position) => {
    const g = globalOf[deptOf[k] ?? 0];
    if (g) g[localOf[k] ?? 0] = 1 + cLevels + position;
  });

  const locationTable = new WeightedTable(locations.map((_, i) => 1 / (1 + i * 0.18)));
  const levelTable = new WeightedTable(LEVEL_WEIGHTS);
  const emails = new Map<string, number>();
  const foldedFirst = FIRST_NAMES.map(asciiFold);
  const foldedLast = LAST_NAMES.map(asciiFold);

  const people: Person[] = [];
  const makePerson = (index: number): Person => {
    const f = rng.int(FIRST_NAMES.length);
    const l = rng.int(LAST_NAMES.length);
    let firstName = item(FIRST_NAMES, f);
    let lastName = item(LAST_NAMES, l);
    if (rng.chance(0.004)) lastName += ', Jr.';
    if (rng.chance(0.001)) firstName += ` "${rng.pick(NICKNAMES)}"`;
    const local = `${item(foldedFirst, f)}.${item(foldedLast, l)}`;
    const seen = emails.get(local) ?? 0;
    emails.set(local, seen + 1);
    const email = `${seen === 0 ? local : `${local}${seen + 1}`}@example.com`;
    return {
      index,
      id: idOf(index),
      firstName,
      lastName,
      email,
      worker: 'Employee',
      status: 'Active',
      dept: -1,
      title: '',
      location: 0,
      costCenter: EXECUTIVE_COST_CENTER,
      grade: 10,
      clearances: [],
      manager: -1,
      reports: 0,
      hire: asOfDay - 3000,
      start: asOfDay - 3000,
      end: undefined,
    };
  };

  // Executive office: the CEO and, for large organisations, C-levels each over a few departments.
  const ceo = makePerson(0);
  ceo.title = 'Chief Executive Officer';
  ceo.hire = ceo.start = asOfDay - rng.between(4000, 5500);
  people.push(ceo);
  for (let c = 0; c < cLevels; c++) {
    const p = makePerson(1 + c);
    p.title = item(C_LEVEL_TITLES, c);
    p.manager = 0;
    p.location = locationTable.pick(rng);
    p.hire = p.start = asOfDay - rng.between(800, 4000);
    if (p.title.includes('Security')) p.clearances = ['secret'];
    people.push(p);
  }

  for (let position = 0; position < total; position++) {
    const k = item(order, position);
    const d = deptOf[k] ?? 0;
    const local = localOf[k] ?? 0;
    const dept = item(departments, d);
    const spec = dept.spec;
    const index = 1 + cLevels + position;
    const p = makePerson(index);
    p.dept = d;
    const parentLocal = parents[d]?.[local] ?? -1;
    const depth = depths[d]?.[local] ?? 0;
    const reports = reportCounts[d]?.[local] ?? 0;
    const managerIndex = parentLocal < 0 ? (cLevels > 0 ? 1 + (d % cLevels) : 0) : (globalOf[d]?.[parentLocal] ?? 0);
    const manager = item(people, managerIndex);
    p.manager = managerIndex;

    if (parentLocal < 0) {
      dept.head = index;
      p.title = `VP ${spec.name}`;
      p.grade = rng.chance(0.5) ? 10 : 9;
      p.location = locationTable.pick(rng);
      p.costCenter = item(dept.costCenters, 0);
    } else {
      p.location = rng.chance(0.7) ? manager.location : locationTable.pick(rng);
      p.costCenter = manager.dept === d && rng.chance(0.8) ? manager.costCenter : rng.pick(dept.costCenters);
      if (reports > 0) {
        if (depth === 1 && dept.size > 150) {
          p.title = `Director of ${spec.name}`;
          p.grade = rng.chance(0.5) ? 9 : 8;
        } else if (spec.extraManagerTitles && rng.chance(0.3)) {
          p.title = rng.pick(spec.extraManagerTitles);
          p.grade = 7;
        } else if (rng.chance(0.6)) {
          p.title = `${spec.short} Manager`;
          p.grade = 7;
        } else {
          p.title = `${spec.short} Team Lead`;
          p.grade = 6;
        }
      } else {
        const contractor = rng.chance(0.11);
        let level = levelTable.pick(rng);
        if (contractor) {
          p.worker = 'Contractor';
          level = Math.min(level, 2);
        }
        const base =
          spec.titles[Math.min(spec.titles.length - 1, Math.floor(Math.pow(rng.next(), 1.6) * spec.titles.length))] ??
          '';
        const word = LEVELS[level] ?? '';
        p.title = word ? `${word} ${base}` : base;
        const [lo, hi] = LEVEL_GRADES[level] ?? [3, 4];
        p.grade = rng.between(lo, hi);
      }
    }
    if (spec.clearances) {
      for (const [clearance, probability] of Object.entries(spec.clearances)) {
        if (rng.chance(probability)) p.clearances.push(clearance);
      }
    }
    if (rng.chance(0.01)) p.clearances.push(rng.pick(CLEARANCES));
    p.clearances = [...new Set(p.clearances)];

    // Dates and status.
    const isManager = reports > 0 || parentLocal < 0;
    let hireAgo = Math.floor(5000 * Math.pow(rng.next(), 1.7)) + 1;
    if (isManager) hireAgo = Math.max(hireAgo, rng.between(200, 3000));
    p.hire = p.start = asOfDay - hireAgo;
    if (rng.chance(0.02) && hireAgo > 400) p.start = p.hire + rng.between(60, hireAgo - 30);
    if (p.worker === 'Contractor') {
      if (rng.chance(0.15)) {
        p.end = asOfDay - rng.between(1, 180);
        p.hire = p.start = p.end - rng.between(90, 540);
        p.status = rng.chance(0.8) ? 'Terminated' : 'Active';
      } else {
        p.end = asOfDay + rng.between(14, 540);
        p.hire = p.start = asOfDay - rng.between(1, 600);
        if (rng.chance(0.01)) {
          p.status = 'Pending';
          p.hire = p.start = asOfDay + rng.between(3, 45);
        }
      }
    } else if (isManager) {
      if (rng.chance(0.005)) p.status = 'Leave';
    } else {
      const u = rng.next();
      if (u < 0.012) {
        p.status = 'Terminated';
        p.end = asOfDay - rng.between(1, 150);
        if (p.start >= p.end) p.hire = p.start = p.end - rng.between(60, 2000);
      } else if (u < 0.024) {
        p.status = 'Leave';
      } else if (u < 0.036) {
        p.status = 'Pending';
        p.hire = p.start = asOfDay + rng.between(3, 60);
      }
    }
    people.push(p);
  }
  for (const p of people) {
    if (p.manager >= 0) item(people, p.manager).reports++;
  }
  return { people, departments, locations, projects, asOfDay };
}

function hrCsv(org: Organisation): string {
  const lines: string[] = [
    'employee_id,first_name,last_name,email,worker_type,status,department,title,location,cost_center,grade,clearances,manager_id,hire_date,start_date,end_date',
  ];
  const { people, departments, locations } = org;
  for (const p of people) {
    const department = p.dept < 0 ? EXECUTIVE_DEPARTMENT : item(departments, p.dept).spec.name;
    const row = [
      p.id,
      csvField(p.firstName),
      csvField(p.lastName),
      csvField(p.email),
      p.worker,
      p.status,
      csvField(department),
      csvField(p.title),
      csvField(item(locations, p.location)[0]),
      p.costCenter,
      String(p.grade),
      csvField(p.clearances.join(';')),
      p.manager < 0 ? '' : item(people, p.manager).id,
      isoDay(p.hire),
      isoDay(p.start),
      p.end === undefined ? '' : isoDay(p.end),
    ];
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Non-human identities
// ---------------------------------------------------------------------------------------------

interface NonHuman {
  readonly name: string;
  readonly type: string;
  readonly ownerId: string;
  readonly system: string;
  readonly createdMs: number;
  readonly expiresMs: number | null;
  readonly rotatedMs: number | null;
  readonly lastUsedMs: number | null;
}

const TECHNICAL_DEPARTMENTS = new Set(['Engineering', 'Platform', 'IT', 'Security', 'Data', 'Research']);

function generateNonHumans(org: Organisation, seed: number, asOfMs: number): NonHuman[] {
  const rng = new Random(seed, 'nhi');
  const count = Math.max(5, Math.round(org.people.length * 0.03));
  const deptName = (p: Person): string => (p.dept < 0 ? EXECUTIVE_DEPARTMENT : item(org.departments, p.dept).spec.name);
  const active = org.people.filter((p) => p.status === 'Active');
  const technical = active.filter((p) => TECHNICAL_DEPARTMENTS.has(deptName(p)));
  const owners = technical.length > 0 ? technical : active.length > 0 ? active : org.people;
  const terminated = org.people.filter((p) => p.status === 'Terminated');
  // A few owned by someone who has left: the orphans governance should find.
  const orphans = new Set(
    terminated.length === 0
      ? []
      : rng.sample(
          Array.from({ length: count }, (_, i) => i),
          Math.max(1, Math.round(count * 0.03)),
        ),
  );
  const typeTable = new WeightedTable(NHI_TYPES.map((t) => t[2]));
  const names = new Set<string>();
  const out: NonHuman[] = [];
  for (let i = 0; i < count; i++) {
    const [type, short] = item(NHI_TYPES, typeTable.pick(rng));
    const system = rng.pick(NHI_SYSTEMS);
    let name = `${short}-${system}-${rng.pick(NHI_PURPOSES)}`;
    if (names.has(name)) {
      let k = 2;
      while (names.has(`${name}-${k}`)) k++;
      name = `${name}-${k}`;
    }
    names.add(name);
    const owner = orphans.has(i) ? rng.pick(terminated) : rng.pick(owners);
    const createdMs = asOfMs - rng.between(20, 1500) * DAY_MS - rng.int(DAY_MS);
    const age = asOfMs - createdMs;
    let rotatedMs: number | null = null;
    const r = rng.next();
    if (r < 0.6) rotatedMs = asOfMs - Math.min(age, rng.between(0, 80) * DAY_MS + rng.int(DAY_MS));
    else if (r < 0.85) rotatedMs = createdMs + Math.floor(rng.next() * Math.max(0, age - 100 * DAY_MS));
    // Validity runs from the last rotation; some certificates and keys have already expired.
    const issuedMs = rotatedMs ?? createdMs;
    let expiresMs: number | null = null;
    if (type === 'certificate') expiresMs = issuedMs + (rng.chance(0.5) ? 365 : 730) * DAY_MS;
    else if ((type === 'api_key' || type === 'token') && rng.chance(0.6))
      expiresMs = issuedMs + rng.between(90, 400) * DAY_MS;
    const u = rng.next();
    let lastUsedMs: number | null = null;
    if (u < 0.8) lastUsedMs = asOfMs - Math.min(age, rng.between(0, 30) * DAY_MS + rng.int(DAY_MS));
    else if (u < 0.92) lastUsedMs = asOfMs - Math.min(age, rng.between(61, 400) * DAY_MS);
    out.push({ name, type, ownerId: owner.id, system, createdMs, expiresMs, rotatedMs, lastUsedMs });
  }
  return out;
}

function nhiJson(list: readonly NonHuman[]): string {
  const rows = list.map((x) =>
    JSON.stringify({
      name: x.name,
      type: x.type,
      owner_id: x.ownerId,
      system: x.system,
      created_at: isoTime(x.createdMs),
      expires_at: x.expiresMs === null ? null : isoTime(x.expiresMs),
      rotated_at: x.rotatedMs === null ? null : isoTime(x.rotatedMs),
      last_used_at: x.lastUsedMs === null ? null : isoTime(x.lastUsedMs),
    }),
  );
  return rows.length === 0 ? '[]\n' : `[\n  ${rows.join(',\n  ')}\n]\n`;
}

// ---------------------------------------------------------------------------------------------
// Entitlements
// ---------------------------------------------------------------------------------------------

const TARGETS = ['directory', 'apps', 'warehouse'] as const;

interface EntitlementSpec {
  readonly id: string;
  readonly target: number;
  readonly risk: RiskLevel;
  readonly description: string;
}

class Entitlements {
  readonly list: EntitlementSpec[] = [];
  private readonly byId = new Map<string, number>();

  add(target: number, id: string, risk: RiskLevel, description: string): void {
    if (this.byId.has(id)) return;
    this.byId.set(id, this.list.length);
    this.list.push({ id, target, risk, description });
  }

  /** The index of a declared entitlement; asking for an undeclared one is a bug here. */
  ref(id: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw new Error(`entitlement ${id} is not declared`);
    return i;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }
}

function declareEntitlements(org: Organisation, seed: number): Entitlements {
  const rng = new Random(seed, 'entitlements');
  const e = new Entitlements();
  const dir = 0;
  e.add(dir, 'directory:group/all-employees', 'low', 'Every employee');
  e.add(dir, 'directory:group/all-contractors', 'low', 'Every contractor');
  e.add(dir, 'directory:group/vpn-users', 'low', 'Remote access VPN');
  e.add(dir, 'directory:group/people-managers', 'low', 'Managers of people');
  e.add(dir, 'directory:group/leadership', 'medium', 'Directors and above');
  e.add(dir, 'directory:group/server-admins', 'high', 'Local administrator on servers');
  e.add(dir, 'directory:group/privileged-access', 'high', 'Privileged access workstation users');
  e.add(dir, 'directory:group/domain-admins', 'critical', 'Directory domain administrators');
  for (const d of org.departments) e.add(dir, `directory:group/dept-${d.slug}`, 'low', `${d.spec.name} department`);
  for (const [name] of org.locations) e.add(dir, `directory:group/site-${slug(name)}`, 'low', `${name} office`);
  for (const region of [...new Set(org.locations.map((l) => l[1]))])
    e.add(dir, `directory:group/region-${region}`, 'low', `Offices in region ${region}`);
  for (const project of org.projects)
    e.add(
      dir,
      `directory:group/proj-${project}`,
      rng.chance(0.2) ? 'high' : 'medium',
      `Project ${project[0]?.toUpperCase() ?? ''}${project.slice(1)}`,
    );
  for (const c of CLEARANCES)
    e.add(
      dir,
      `directory:group/clearance-${c}`,
      c === 'secret' || c === 'pci' ? 'high' : 'medium',
      `Holders of the ${c} clearance`,
    );

  for (const [app, roles] of APPS) {
    for (const [role, risk] of roles) e.add(1, `apps:role/${app}-${role}`, risk, `${app} ${role}`);
  }

  for (const d of org.departments) {
    const s = d.spec.sensitive === true;
    e.add(2, `warehouse:role/${d.db}_reader`, s ? 'medium' : 'low', `Read the ${d.spec.name} schema`);
    e.add(2, `warehouse:role/${d.db}_writer`, s ? 'high' : 'medium', `Write the ${d.spec.name} schema`);
    e.add(2, `warehouse:role/${d.db}_admin`, s ? 'critical' : 'high', `Own the ${d.spec.name} schema`);
  }
  e.add(2, 'warehouse:role/sandbox', 'low', 'Personal sandbox schema');
  e.add(2, 'warehouse:role/pii_reader', 'high', 'Read unmasked personal data');
  e.add(2, 'warehouse:role/pci_cardholder', 'critical', 'Read cardholder data');
  e.add(2, 'warehouse:role/etl_loader', 'high', 'Load data into every schema');
  e.add(2, 'warehouse:role/sysadmin', 'critical', 'Warehouse system administrator');
  return e;
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

interface RoleSpec {
  readonly id: string;
  readonly description: string;
  readonly businessOwner?: string;
  readonly technicalOwner?: string;
  readonly when?: Cond;
  readonly grants: readonly number[];
  readonly inherits: readonly number[];
}

interface RoleDraft {
  id: string;
  description: string;
  when?: Cond;
  grants: string[];
  inherits?: string[];
  /** Department whose head or managers own the role's business side. */
  dept?: number;
}

interface Category {
  readonly name: string;
  readonly share: number;
  readonly candidates: readonly (() => RoleDraft | undefined)[];
  /** Produces more when the candidates run out; absent means the category is capped. */
  readonly more?: () => RoleDraft;
}

class RoleBook {
  readonly roles: RoleSpec[] = [];
  readonly byId = new Map<string, number>();

  constructor(
    private readonly rng: Random,
    private readonly ents: Entitlements,
    private readonly owners: {
      readonly business: (dept: number | undefined) => string;
      readonly technical: () => string;
    },
  ) {}

  uniqueId(base: string): string {
    if (!this.byId.has(base)) return base;
    let k = 2;
    while (this.byId.has(`${base}-${k}`)) k++;
    return `${base}-${k}`;
  }

  add(draft: RoleDraft): void {
    const id = this.uniqueId(draft.id);
    const grants = [...new Set(draft.grants.filter((g) => this.ents.has(g)))].slice(0, 8).map((g) => this.ents.ref(g));
    if (grants.length === 0) grants.push(this.ents.ref('directory:group/vpn-users'));
    const inherits = [...new Set(draft.inherits ?? [])]
      .map((r) => this.byId.get(r))
      .filter((r): r is number => r !== undefined);
    const technicalOwner = this.rng.chance(0.03) ? undefined : this.owners.technical();
    this.byId.set(id, this.roles.length);
    this.roles.push({
      id,
      description: draft.description,
      businessOwner: this.owners.business(draft.dept),
      ...(technicalOwner === undefined ? {} : { technicalOwner }),
      ...(draft.when === undefined ? {} : { when: draft.when }),
      grants,
      inherits,
    });
  }
}

const NON_INDEXED_WORDS = [
  'Engineer',
  'Analyst',
  'Manager',
  'Designer',
  'Specialist',
  'Scientist',
  'Consultant',
  'Architect',
  'Coordinator',
  'Counsel',
  'Lead',
  'Representative',
  'Agent',
  'Auditor',
  'Recruiter',
  'Accountant',
];

function buildRoles(
  org: Organisation,
  ents: Entitlements,
  nhis: readonly NonHuman[],
  count: number,
  seed: number,
): RoleSpec[] {
  const rng = new Random(seed, 'roles');
  const { people, departments, locations, projects } = org;
  const active = people.filter((p) => p.status === 'Active');
  const managersByDept = departments.map(() => [] as string[]);
  for (const p of active) if (p.dept >= 0 && p.reports > 0) managersByDept[p.dept]?.push(p.id);
  const technicalPool = active.filter(
    (p) => p.grade >= 5 && p.dept >= 0 && TECHNICAL_DEPARTMENTS.has(item(departments, p.dept).spec.name),
  );
  const fallbackPool = active.length > 0 ? active : people;
  const ceo = item(people, 0).id;
  const owners = {
    business: (dept: number | undefined): string => {
      if (dept === undefined) return rng.chance(0.5) ? ceo : rng.pick(fallbackPool).id;
      const d = item(departments, dept);
      const head = d.head >= 0 ? item(people, d.head) : undefined;
      if (head && head.status === 'Active' && rng.chance(0.4)) return head.id;
      const managers = managersByDept[dept] ?? [];
      return managers.length > 0 ? rng.pick(managers) : (head?.id ?? ceo);
    },
    technical: (): string => rng.pick(technicalPool.length > 0 ? technicalPool : fallbackPool).id,
  };
  const book = new RoleBook(rng, ents, owners);

  // Populations, so the roles a real IAM team would write first (the big groups) come first.
  const deptSize = departments.map(() => 0);
  const locSize = locations.map(() => 0);
  const ccSize = new Map<string, number>();
  const pairSize = new Map<string, number>();
  const titleSize = new Map<string, number>();
  for (const p of people) {
    if (p.dept < 0) continue;
    deptSize[p.dept] = (deptSize[p.dept] ?? 0) + 1;
    locSize[p.location] = (locSize[p.location] ?? 0) + 1;
    ccSize.set(p.costCenter, (ccSize.get(p.costCenter) ?? 0) + 1);
    pairSize.set(`${p.dept}/${p.location}`, (pairSize.get(`${p.dept}/${p.location}`) ?? 0) + 1);
    titleSize.set(p.title, (titleSize.get(p.title) ?? 0) + 1);
  }

  const app = (name: string, index: number): string => {
    const roles = APPS.find((a) => a[0] === name)?.[1] ?? [];
    const role = roles[Math.max(0, Math.min(roles.length - 1, index < 0 ? roles.length + index : index))];
    return role ? `apps:role/${name}-${role[0]}` : 'directory:group/vpn-users';
  };
  const appRoles = (name: string): readonly (readonly [string, RiskLevel])[] =>
    APPS.find((a) => a[0] === name)?.[1] ?? [];
  const base = (d: Department): string[] => d.spec.apps.map((a) => app(a, 0));
  const elevated = (d: Department): string[] =>
    d.spec.apps.flatMap((a) => {
      const roles = appRoles(a);
      return roles.slice(1, roles.length >= 3 ? roles.length - 1 : roles.length).map((r) => `apps:role/${a}-${r[0]}`);
    });
  const admin = (d: Department): string[] =>
    d.spec.apps.flatMap((a) => {
      const roles = appRoles(a);
      const last = roles[roles.length - 1];
      return roles.length >= 3 && last ? [`apps:role/${a}-${last[0]}`] : [];
    });
  const some = (pool: readonly string[], lo: number, hi: number): string[] => rng.sample(pool, rng.between(lo, hi));
  const deptGroup = (d: Department): string => `directory:group/dept-${d.slug}`;
  const siteGroup = (l: number): string => `directory:group/site-${slug(item(locations, l)[0])}`;
  const locName = (l: number): string => item(locations, l)[0];
  const levelTitles = (baseTitle: string, levels: readonly string[]): string[] =>
    levels.map((w) => (w ? `${w} ${baseTitle}` : baseTitle));
  const deptByName = (name: string): Department | undefined => departments.find((d) => d.spec.name === name);
  const project = (): string => `directory:group/proj-${rng.pick(projects)}`;

  // --- Core roles: the ones every example tells a story with.
  const eng = deptByName('Engineering');
  const fin = deptByName('Finance');
  const sec = deptByName('Security');
  const data = deptByName('Data');
  const nhiSystems = new Set(nhis.filter((x) => x.type === 'service_account').map((x) => x.system));
  const core: RoleDraft[] = [
    {
      id: 'employee-baseline',
      description: 'Birthright access for every employee',
      when: eq('kind', 'employee'),
      grants: [
        'directory:group/all-employees',
        'directory:group/vpn-users',
        'apps:role/slack-member',
        'apps:role/zoom-user',
        'apps:role/workday-employee',
        'apps:role/confluence-user',
      ],
    },
    {
      id: 'contractor-baseline',
      description: 'What every contractor gets on day one',
      when: eq('kind', 'contractor'),
      grants: ['directory:group/all-contractors', 'apps:role/slack-member', 'apps:role/confluence-user'],
    },
    {
      id: 'engineer',
      description: 'Every employed engineer',
      when: and(eq('department', 'Engineering'), eq('kind', 'employee')),
      grants: ['apps:role/github-user', 'apps:role/jira-user', 'apps:role/datadog-viewer'],
      dept: eng?.index,
    },
    {
      id: 'senior-engineer',
      description: 'Senior engineers: write access to code and read access to production',
      when: and(eq('department', 'Engineering'), prefix('title', 'Senior')),
      grants: ['apps:role/github-maintainer', 'apps:role/aws-console-readonly'],
      inherits: ['engineer'],
      dept: eng?.index,
    },
    {
      id: 'finance-payments-clerk',
      description: 'Accounts payable: enters supplier payments',
      when: and(
        eq('department', 'Finance'),
        isIn('title', levelTitles('Accounts Payable Specialist', ['Junior', '', 'Senior'])),
      ),
      grants: ['apps:role/erp-user', 'apps:role/erp-ap-clerk', 'apps:role/erp-payment-create'],
      dept: fin?.index,
    },
    {
      id: 'finance-payments-approver',
      description: 'Finance managers approve supplier payments',
      when: and(
        eq('department', 'Finance'),
        or(eq('title', 'Finance Manager'), eq('title', 'Manager, Accounts Payable'), prefix('title', 'Director')),
      ),
      grants: ['apps:role/erp-user', 'apps:role/erp-payment-approve'],
      dept: fin?.index,
    },
    {
      id: 'sre-oncall',
      description: 'Site reliability engineers on the on-call rota',
      when: isIn('title', levelTitles('Site Reliability Engineer', LEVELS)),
      grants: ['apps:role/pagerduty-responder', 'apps:role/kubernetes-deployer', 'apps:role/aws-console-developer'],
      dept: eng?.index,
    },
    {
      id: 'security-responder',
      description: 'Incident responders: the security team and anyone cleared secret',
      when: or(eq('department', 'Security'), holds('secret')),
      grants: ['apps:role/splunk-user', 'apps:role/crowdstrike-analyst'],
      dept: sec?.index,
    },
    {
      id: 'data-analyst',
      description: 'Analysts in the data team',
      when: and(eq('department', 'Data'), isIn('title', levelTitles('Data Analyst', LEVELS))),
      grants: [
        'apps:role/tableau-creator',
        'warehouse:role/sandbox',
        data ? `warehouse:role/${data.db}_reader` : 'warehouse:role/sandbox',
      ],
      dept: data?.index,
    },
    {
      id: 'people-managers',
      description: 'Everyone who manages people',
      when: or(
        { op: 'suffix', attr: 'title', value: 'Manager' },
        { op: 'contains', attr: 'title', value: 'Team Lead' },
        prefix('title', 'Director'),
      ),
      grants: ['directory:group/people-managers', 'apps:role/workday-manager', 'apps:role/expensify-approver'],
    },
    {
      id: 'new-joiner-onboarding',
      description: 'Onboarding courses for the first 30 days',
      when: and({ op: 'startedWithin', days: 30 }, { op: 'not', cond: eq('kind', 'contractor') }),
      grants: ['apps:role/lms-learner'],
    },
    {
      id: 'warehouse-etl',
      description: 'Service accounts that load the warehouse',
      when: and(
        eq('kind', 'service_account'),
        isIn('system', nhiSystems.has('warehouse') ? ['warehouse'] : ['warehouse', 'erp']),
      ),
      grants: ['warehouse:role/etl_loader'],
    },
  ];
  const coreCount = Math.min(count, core.length);
  for (const draft of core.slice(0, coreCount)) book.add(draft);

  // --- Generated categories.
  const byDeptSize = weightedOrder(rng, departments, (d) => deptSize[d.index] ?? 0);
  const regions = [...new Set(locations.map((l) => l[1]))];
  const levelWords = ['Junior', 'Senior', 'Staff', 'Principal'];

  const bundles: (() => RoleDraft)[] = byDeptSize.map((d) => () => ({
    id: `toolkit-${d.slug}`,
    description: `Standard ${d.spec.name} tools (inherited, never matched directly)`,
    grants: base(d).slice(0, 5),
    dept: d.index,
  }));
  const deptRoles = byDeptSize.map((d) => () => ({
    id: `dept-${d.slug}`,
    description: `Everyone in ${d.spec.name}`,
    when: eq('department', d.spec.name),
    grants: [
      deptGroup(d),
      `warehouse:role/${d.db}_reader`,
      ...(book.byId.has(`toolkit-${d.slug}`) ? [] : some(base(d), 1, 2)),
    ],
    inherits: [`toolkit-${d.slug}`],
    dept: d.index,
  }));
  const siteRoles = weightedOrder(
    rng,
    locations.map((_, i) => i),
    (i) => locSize[i] ?? 0,
  ).map((l) => () => ({
    id: `site-${slug(locName(l))}`,
    description: `Everyone based in ${locName(l)}`,
    when: eq('location', locName(l)),
    grants: [siteGroup(l)],
  }));
  const regionRoles = regions.map((region) => () => ({
    id: `region-${region}`,
    description: `Everyone in the ${region} offices`,
    when: isIn(
      'location',
      locations.filter((l) => l[1] === region).map((l) => l[0]),
    ),
    grants: [`directory:group/region-${region}`],
  }));
  const levelRoles = byDeptSize.flatMap((d) =>
    levelWords.map((word, li) => (): RoleDraft => {
      const previous = li >= 2 ? `${d.slug}-${item(levelWords, li - 1).toLowerCase()}` : `dept-${d.slug}`;
      const grants =
        word === 'Junior'
          ? [...some(base(d), 1, 1), 'apps:role/lms-learner']
          : word === 'Senior'
            ? [...some(elevated(d), 1, 2), `warehouse:role/${d.db}_writer`]
            : word === 'Staff'
              ? [...some(elevated(d), 1, 2), project()]
              : [...some(admin(d).length > 0 ? admin(d) : elevated(d), 1, 1), `warehouse:role/${d.db}_admin`];
      return {
        id: `${d.slug}-${word.toLowerCase()}`,
        description: `${word} staff in ${d.spec.name}`,
        when: and(eq('department', d.spec.name), prefix('title', word)),
        grants,
        inherits: [previous],
        dept: d.index,
      };
    }),
  );
  const families = weightedOrder(
    rng,
    departments.flatMap((d) => d.spec.titles.map((t) => [d, t] as const)),
    ([, t]) => LEVELS.reduce((sum, w) => sum + (titleSize.get(w ? `${w} ${t}` : t) ?? 0), 0),
  ).map(([d, t]) => (): RoleDraft => {
    const seniorOnly = rng.chance(0.3);
    const titles = levelTitles(t, seniorOnly ? ['Senior', 'Staff', 'Principal'] : LEVELS);
    return {
      id: `${d.slug}-${slug(t)}${seniorOnly ? '-senior' : ''}`,
      description: `${seniorOnly ? 'Senior ' : ''}${t}s in ${d.spec.name}`,
      when: seniorOnly ? isIn('title', titles) : and(eq('department', d.spec.name), isIn('title', titles)),
      grants: [...some([...base(d), ...elevated(d)], 1, 3), ...(rng.chance(0.3) ? [project()] : [])],
      inherits: rng.chance(0.4) ? [`toolkit-${d.slug}`] : [],
      dept: d.index,
    };
  });
  const managerRoles = byDeptSize.map((d) => () => ({
    id: `${d.slug}-leadership`,
    description: `Managers and directors of ${d.spec.name}`,
    when: and(
      eq('department', d.spec.name),
      or(
        prefix('title', 'VP'),
        prefix('title', 'Director'),
        isIn('title', [`${d.spec.short} Manager`, `${d.spec.short} Team Lead`]),
      ),
    ),
    grants: ['directory:group/leadership', 'apps:role/coupa-approver', ...some(admin(d), 0, 1)],
    dept: d.index,
  }));
  const contractorRoles = byDeptSize.map((d) => () => ({
    id: `${d.slug}-contractors`,
    description: `Contractors working for ${d.spec.name}`,
    when: and(eq('kind', 'contractor'), eq('department', d.spec.name)),
    grants: some(base(d), 1, 2),
    dept: d.index,
  }));
  const allCostCenters = departments.flatMap((d) => d.costCenters.map((cc) => [d, cc] as const));
  const teamRoles = weightedOrder(rng, allCostCenters, ([, cc]) => ccSize.get(cc) ?? 0).map(
    ([d, cc]) =>
      (): RoleDraft => {
        const siblings = d.costCenters.filter((x) => x !== cc);
        const pair = siblings.length > 0 && rng.chance(0.2);
        const proj = rng.pick(projects);
        return {
          id: `team-${cc.toLowerCase()}-${proj}`,
          description: `Cost center ${cc} (${d.spec.name}), working on project ${proj}`,
          when: pair ? isIn('cost_center', [cc, rng.pick(siblings)]) : eq('cost_center', cc),
          grants: [
            `directory:group/proj-${proj}`,
            ...some(elevated(d), 0, 2),
            ...(rng.chance(0.3) ? [`warehouse:role/${d.db}_writer`] : []),
          ],
          inherits: rng.chance(0.25) ? [`dept-${d.slug}`] : [],
          dept: d.index,
        };
      },
  );
  const clearanceSpecial: Readonly<Record<string, readonly string[]>> = {
    pci: ['warehouse:role/pci_cardholder'],
    pii: ['warehouse:role/pii_reader'],
    secret: ['apps:role/vault-reader'],
    'prod-access': ['apps:role/kubernetes-viewer', 'apps:role/aws-console-readonly'],
    sox: ['apps:role/erp-user'],
  };
  const clearanceRoles = CLEARANCES.map((c) => () => ({
    id: `cleared-${c}`,
    description: `Holders of the ${c} clearance`,
    when: holds(c),
    grants: [`directory:group/clearance-${c}`, ...(clearanceSpecial[c] ?? [])],
  }));
  const clearanceDeptRoles = weightedOrder(
    rng,
    departments.flatMap((d) => Object.keys(d.spec.clearances ?? {}).map((c) => [d, c] as const)),
    ([d, c]) => (deptSize[d.index] ?? 0) * (d.spec.clearances?.[c] ?? 0),
  ).map(([d, c]) => () => ({
    id: `${d.slug}-${c}-cleared`,
    description: `${d.spec.name} staff cleared ${c}`,
    when: and(eq('department', d.spec.name), holds(c)),
    grants: [...some([...elevated(d), ...admin(d)], 1, 2), `warehouse:role/${d.db}_writer`],
    dept: d.index,
  }));
  const sharedRoles = Array.from({ length: 40 }, (_, k) => (): RoleDraft | undefined => {
    if (departments.length < 2) return undefined;
    const [a, b] = rng.sample(byDeptSize.slice(0, Math.max(2, Math.ceil(byDeptSize.length * 0.7))), 2);
    if (!a || !b) return undefined;
    const shape = k % 3;
    if (shape === 0)
      return {
        id: `shared-${a.slug}-${b.slug}`,
        description: `Tools shared by ${a.spec.name} and ${b.spec.name}`,
        when: or(eq('department', a.spec.name), eq('department', b.spec.name)),
        grants: some([...elevated(a), ...base(b)], 1, 2),
        dept: a.index,
      };
    if (shape === 1) {
      const c = rng.pick(CLEARANCES);
      return {
        id: `${a.slug}-or-${c}`,
        description: `${a.spec.name}, or anyone cleared ${c}`,
        when: or(eq('department', a.spec.name), holds(c)),
        grants: some([...elevated(a), `directory:group/clearance-${c}`], 1, 2),
        dept: a.index,
      };
    }
    const cc = rng.pick(b.costCenters);
    return {
      id: `escalation-${a.slug}-${cc.toLowerCase()}`,
      description: `Senior ${a.spec.name} staff and cost center ${cc} share an escalation path`,
      when: or(and(eq('department', a.spec.name), prefix('title', 'Senior')), eq('cost_center', cc)),
      grants: some([...elevated(a), ...elevated(b)], 1, 2),
      dept: a.index,
    };
  });
  const pairs = weightedOrder(
    rng,
    departments.flatMap((d) => locations.map((_, l) => [d, l] as const)),
    ([d, l]) => pairSize.get(`${d.index}/${l}`) ?? 0,
  );
  const localRoles = pairs.map(([d, l]) => (): RoleDraft => {
    const region = item(locations, l)[1];
    const mates = locations.filter((x) => x[1] === region).map((x) => x[0]);
    const wide = mates.length > 1 && rng.chance(0.35);
    const where = wide ? rng.sample(mates, Math.min(mates.length, rng.between(2, 3))) : [locName(l)];
    if (!where.includes(locName(l))) where[0] = locName(l);
    return {
      id: `${d.slug}-${slug(where.join('-'))}`,
      description: `${d.spec.name} in ${where.join(', ')}`,
      when: and(eq('department', d.spec.name), isIn('location', where)),
      grants: [...some([...base(d), ...elevated(d)], 1, 2), ...(rng.chance(0.4) ? [project()] : [])],
      inherits: rng.chance(0.3) ? [`site-${slug(locName(l))}`] : [],
      dept: d.index,
    };
  });
  const anyDepartment = (): Department | undefined => (departments.length > 0 ? rng.pick(departments) : undefined);
  const anyGrants = (): string[] => {
    const d = anyDepartment();
    return d ? some([...base(d), ...elevated(d)], 1, 2) : ['apps:role/lms-learner'];
  };
  let unindexedCounter = 0;
  const unindexed = (): RoleDraft => {
    const k = unindexedCounter++;
    const shape = k % 6;
    const word = rng.pick(NON_INDEXED_WORDS);
    const d = anyDepartment();
    if (shape === 0 || (shape === 2 && k >= 12)) {
      const g = rng.between(4, 7);
      return {
        id: `${slug(word)}-grade-${g}-plus`,
        description: `${word}s at grade ${g} and above`,
        when: and({ op: 'contains', attr: 'title', value: word }, { op: 'grade', cmp: '>=', value: g }),
        grants: anyGrants(),
      };
    }
    if (shape === 1) {
      return {
        id: `${slug(word)}-outside-${d?.slug ?? 'sales'}`,
        description: `${word}s outside ${d?.spec.name ?? 'Sales'}`,
        when: and(
          { op: 'contains', attr: 'title', value: word },
          { op: 'not', cond: eq('department', d?.spec.name ?? 'Sales') },
        ),
        grants: anyGrants(),
      };
    }
    if (shape === 2) {
      const g = 10 - (k % 3);
      return {
        id: `grade-${g}-plus`,
        description: `Everyone at grade ${g} or above`,
        when: { op: 'grade', cmp: '>=', value: g },
        grants: [
          'directory:group/leadership',
          ...some(['apps:role/tableau-viewer', 'apps:role/amplitude-viewer', 'apps:role/gong-user'], 0, 1),
        ],
      };
    }
    if (shape === 3) {
      const g = rng.between(7, 9);
      return {
        id: `non-${d?.slug ?? 'sales'}-grade-${g}`,
        description: `Senior people outside ${d?.spec.name ?? 'Sales'}`,
        when: and({ op: 'not', cond: eq('department', d?.spec.name ?? 'Sales') }, { op: 'grade', cmp: '>=', value: g }),
        grants: anyGrants(),
      };
    }
    if (shape === 4) {
      const days = rng.pick([14, 30, 60, 90]);
      return {
        id: `new-${slug(word)}-${days}d`,
        description: `${word}s in their first ${days} days`,
        when: and({ op: 'startedWithin', days }, { op: 'contains', attr: 'title', value: word }),
        grants: ['apps:role/lms-learner', ...anyGrants().slice(0, 1)],
      };
    }
    const g = rng.between(2, 4);
    return {
      id: `${slug(word)}-grade-${g}-or-below`,
      description: `Early-career titles ending in ${word}`,
      when: and({ op: 'suffix', attr: 'title', value: word }, { op: 'grade', cmp: '<=', value: g }),
      grants: anyGrants(),
    };
  };
  let squadCounter = 0;
  const squad = (): RoleDraft => {
    const d = anyDepartment();
    if (!d) return unindexed();
    const where = rng.sample(
      locations.map((l) => l[0]),
      rng.between(1, 3),
    );
    squadCounter++;
    return {
      id: `squad-${pad(squadCounter, 4)}`,
      description: `${d.spec.name} squad in ${where.join(', ')}`,
      when: and(eq('department', d.spec.name), isIn('location', where), prefix('title', rng.pick(levelWords))),
      grants: [...some([...base(d), ...elevated(d)], 1, 2), project()],
      dept: d.index,
    };
  };

  const categories: Category[] = [
    { name: 'bundles', share: 0.02, candidates: bundles },
    { name: 'departments', share: 0.03, candidates: deptRoles },
    { name: 'sites', share: 0.04, candidates: siteRoles },
    { name: 'regions', share: 0.006, candidates: regionRoles },
    { name: 'levels', share: 0.12, candidates: levelRoles },
    { name: 'families', share: 0.105, candidates: families },
    { name: 'leadership', share: 0.03, candidates: managerRoles },
    { name: 'contractors', share: 0.03, candidates: contractorRoles },
    { name: 'teams', share: 0.2, candidates: teamRoles },
    { name: 'clearances', share: 0.008, candidates: clearanceRoles },
    { name: 'cleared-departments', share: 0.02, candidates: clearanceDeptRoles },
    { name: 'shared', share: 0.03, candidates: sharedRoles },
    { name: 'local', share: 0.28, candidates: localRoles },
    { name: 'unindexed', share: 0.07, candidates: [], more: unindexed },
    { name: 'squads', share: 0, candidates: [], more: squad },
  ];
  const budget = count - coreCount;
  const shareSum = categories.reduce((s, c) => s + c.share, 0);
  const cap = (c: Category): number => (c.more ? Infinity : c.candidates.length);
  const quota = categories.map((c) => Math.min(cap(c), Math.floor((budget * c.share) / shareSum)));
  let left = budget - quota.reduce((a, b) => a + b, 0);
  // Leftovers go to indexable categories; squads (always indexable) absorb whatever the others cannot.
  const priority = [1, 2, 4, 5, 8, 12, 6, 7, 9, 10, 3, 0, 11, 14];
  while (left > 0) {
    let gave = false;
    for (const ci of priority) {
      if (left === 0) break;
      const c = item(categories, ci);
      if ((quota[ci] ?? 0) < cap(c)) {
        quota[ci] = (quota[ci] ?? 0) + 1;
        left--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  categories.forEach((c, ci) => {
    const want = quota[ci] ?? 0;
    let made = 0;
    for (const candidate of c.candidates) {
      if (made >= want) break;
      const draft = candidate();
      if (draft) {
        book.add(draft);
        made++;
      }
    }
    while (made < want) {
      book.add(c.more ? c.more() : squad());
      made++;
    }
  });
  return book.roles;
}

// ---------------------------------------------------------------------------------------------
// Evaluation (this file's stand-in for the engine) and snapshots
// ---------------------------------------------------------------------------------------------

interface Subject {
  readonly id: string;
  readonly status: Status;
  readonly human: boolean;
  readonly rule: RuleSubject;
}

class RoleIndex {
  private readonly byKey = new Map<string, number[]>();
  private readonly prefixes = new Map<string, Set<string>>();
  private readonly scan: number[] = [];
  private readonly stamp: Int32Array;
  private generation = 0;
  readonly unindexed: number;

  constructor(private readonly roles: readonly RoleSpec[]) {
    this.stamp = new Int32Array(roles.length);
    roles.forEach((role, r) => {
      if (!role.when) return;
      const keys = indexKeys(role.when);
      if (!keys) {
        this.scan.push(r);
        return;
      }
      for (const key of keys) {
        const list = this.byKey.get(key);
        if (list) list.push(r);
        else this.byKey.set(key, [r]);
        const caret = key.indexOf('^');
        if (caret > 0 && !key.slice(0, caret).includes('=')) {
          const attr = key.slice(0, caret);
          const set = this.prefixes.get(attr) ?? new Set<string>();
          set.add(key.slice(caret + 1));
          this.prefixes.set(attr, set);
        }
      }
    });
    this.unindexed = this.scan.length;
  }

  /** The roles whose rule holds for the subject, ascending. */
  match(s: RuleSubject, nowMs: number): number[] {
    this.generation++;
    const out: number[] = [];
    const consider = (r: number): void => {
      if (this.stamp[r] === this.generation) return;
      this.stamp[r] = this.generation;
      const when = this.roles[r]?.when;
      if (when && evaluate(when, s, nowMs) === TRUE) out.push(r);
    };
    const lookup = (key: string): void => {
      const list = this.byKey.get(key);
      if (list) for (const r of list) consider(r);
    };
    for (const attr of ['kind', 'department', 'location', 'cost_center', 'title', 'system'] as const) {
      const v = s[attr];
      if (v === undefined) continue;
      lookup(`${attr}=${v}`);
      const ps = this.prefixes.get(attr);
      if (ps) for (const p of ps) if (v.startsWith(p)) lookup(`${attr}^${p}`);
    }
    if (s.clearances) for (const c of s.clearances) lookup(`clearances=${c}`);
    for (const r of this.scan) consider(r);
    return out.sort((a, b) => a - b);
  }
}

/** Every entitlement a role grants, its own and its inherited roles', ascending. */
function roleClosures(roles: readonly RoleSpec[]): number[][] {
  const memo: (number[] | undefined)[] = new Array<number[] | undefined>(roles.length);
  const visit = (r: number, path: Set<number>): number[] => {
    const known = memo[r];
    if (known) return known;
    if (path.has(r)) throw new Error(`inheritance cycle through ${roles[r]?.id ?? r}`);
    path.add(r);
    const role = item(roles, r);
    const set = new Set<number>(role.grants);
    for (const parent of role.inherits) for (const e of visit(parent, path)) set.add(e);
    path.delete(r);
    const out = [...set].sort((a, b) => a - b);
    memo[r] = out;
    return out;
  };
  return roles.map((_, r) => visit(r, new Set()));
}

interface SnapshotResult {
  readonly files: Record<string, string>;
  readonly accounts: Record<string, number>;
  readonly orphans: number;
  readonly averageRolesMatched: number;
  readonly roleMatches: Record<string, number>;
  readonly unindexed: number;
}

function buildSnapshots(
  org: Organisation,
  nhis: readonly NonHuman[],
  ents: Entitlements,
  roles: readonly RoleSpec[],
  seed: number,
  asOfMs: number,
): SnapshotResult {
  const rng = new Random(seed, 'snapshots');
  const index = new RoleIndex(roles);
  const closures = roleClosures(roles);
  const { people, departments, locations } = org;

  const subjects: Subject[] = [];
  for (const p of people) {
    subjects.push({
      id: p.id,
      status: p.status,
      human: true,
      rule: {
        kind: p.worker === 'Employee' ? 'employee' : 'contractor',
        department: p.dept < 0 ? EXECUTIVE_DEPARTMENT : item(departments, p.dept).spec.name,
        location: item(locations, p.location)[0],
        cost_center: p.costCenter,
        title: p.title,
        grade: p.grade,
        ...(p.clearances.length > 0 ? { clearances: p.clearances } : {}),
        startMs: p.start * DAY_MS,
      },
    });
  }
  for (const x of nhis)
    subjects.push({ id: x.name, status: 'Active', human: false, rule: { kind: x.type, system: x.system } });

  const roleMatches = new Array<number>(roles.length).fill(0);
  let humanMatches = 0;
  let activeHumans = 0;
  const lines: string[][] = TARGETS.map(() => []);
  const accounts = TARGETS.map(() => 0);
  const targetPools = TARGETS.map((_, t) =>
    ents.list
      .map((e, i) => [e, i] as const)
      .filter(([e]) => e.target === t && e.risk !== 'critical')
      .map(([, i]) => i),
  );
  const stamp = new Int32Array(ents.list.length);
  let generation = 0;

  const accountId = (t: number, s: Subject): string => {
    if (t === 0) return `uid=${s.id},ou=${s.human ? 'people' : 'services'},dc=example,dc=com`;
    if (t === 1) return `00u${rng.uint32().toString(36).padStart(7, '0')}${rng.uint32().toString(36).padStart(7, '0')}`;
    return s.id.toLowerCase();
  };
  const emit = (
    t: number,
    account: { id: string; name: string; identity?: string; enabled: boolean; entitlements: string[] },
  ): void => {
    item(lines, t).push(JSON.stringify(account));
    accounts[t] = (accounts[t] ?? 0) + 1;
  };

  for (const s of subjects) {
    const matched = index.match(s.rule, asOfMs);
    if (s.status === 'Active') {
      for (const r of matched) roleMatches[r] = (roleMatches[r] ?? 0) + 1;
      if (s.human) {
        humanMatches += matched.length;
        activeHumans++;
      }
    }
    if (s.status === 'Pending') continue;
    generation++;
    const byTarget: number[][] = TARGETS.map(() => []);
    for (const r of matched) {
      for (const e of item(closures, r)) {
        if (stamp[e] === generation) continue;
        stamp[e] = generation;
        byTarget[item(ents.list, e).target]?.push(e);
      }
    }
    // Terminated people: most still have their old accounts, a third of those still enabled.
    const keepsAccounts = s.status !== 'Terminated' || rng.chance(0.65);
    if (!keepsAccounts) continue;
    byTarget.forEach((desired, t) => {
      if (desired.length === 0) return;
      let enabled = true;
      let held = desired;
      if (s.status === 'Active') {
        if (rng.chance(0.015)) return; // never provisioned: the plan creates it
        if (rng.chance(0.005)) enabled = false;
        if (rng.chance(0.05)) {
          // a membership or two that never arrived
          const drop = new Set(rng.sample(desired, rng.between(1, 2)));
          held = desired.filter((e) => !drop.has(e));
        }
        if (rng.chance(0.025)) held = [...held, rng.pick(item(targetPools, t))]; // granted by hand
      } else if (s.status === 'Leave') {
        enabled = rng.chance(0.7);
      } else {
        enabled = rng.chance(0.35);
      }
      const names = [...new Set(held.map((e) => item(ents.list, e).id))].sort();
      const linked = rng.chance(0.995);
      emit(t, {
        id: accountId(t, s),
        name: s.id,
        ...(linked ? { identity: s.id } : {}),
        enabled,
        entitlements: names,
      });
    });
  }

  // Orphans: accounts nobody can explain, sometimes with something powerful.
  let orphans = 0;
  const orphanCount = Math.max(2, Math.round(people.length / 5000));
  TARGETS.forEach((_, t) => {
    const all = ents.list.map((e, i) => [e, i] as const).filter(([e]) => e.target === t);
    for (let k = 0; k < orphanCount; k++) {
      const name =
        k < ORPHAN_NAMES.length ? item(ORPHAN_NAMES, (k + t * 3) % ORPHAN_NAMES.length) : `orphan-${pad(k, 4)}`;
      const held = rng
        .sample(all, rng.between(1, 3))
        .map(([e]) => e.id)
        .sort();
      const id =
        t === 0
          ? `uid=${name},ou=people,dc=example,dc=com`
          : t === 1
            ? `00u${rng.uint32().toString(36).padStart(7, '0')}legacy`
            : name;
      emit(t, { id, name, enabled: rng.chance(0.8), entitlements: held });
      orphans++;
    }
  });

  const files: Record<string, string> = {};
  TARGETS.forEach((target, t) => {
    const body = item(lines, t);
    files[`actual/${target}.json`] =
      body.length === 0 ? '{\n  "accounts": []\n}\n' : `{\n  "accounts": [\n    ${body.join(',\n    ')}\n  ]\n}\n`;
  });
  const matchesById: Record<string, number> = {};
  roles.forEach((role, r) => (matchesById[role.id] = roleMatches[r] ?? 0));
  return {
    files,
    accounts: Object.fromEntries(TARGETS.map((target, t) => [target, accounts[t] ?? 0])),
    orphans,
    averageRolesMatched: activeHumans === 0 ? 0 : humanMatches / activeHumans,
    roleMatches: matchesById,
    unindexed: index.unindexed,
  };
}

// ---------------------------------------------------------------------------------------------
// The policy file
// ---------------------------------------------------------------------------------------------

function targetYaml(id: string, description: string, kind: 'memory' | 'csv' = 'memory'): string[] {
  const connection =
    kind === 'csv'
      ? `{ accounts: targets/${id}/accounts.csv, memberships: targets/${id}/memberships.csv }`
      : `{ snapshot: actual/${id}.json }`;
  return [`  - id: ${id}`, `    kind: ${kind}`, `    description: ${description}`, `    connection: ${connection}`];
}

/** A memory snapshot's accounts as the two files of a CSV target (the CSV connector's format). */
function csvTargetFiles(snapshot: string): { accounts: string; memberships: string } {
  const { accounts } = JSON.parse(snapshot) as {
    accounts: { id: string; name: string; identity?: string; enabled: boolean; entitlements: string[] }[];
  };
  const a = ['id,name,identity,enabled,givenName,sn,mail,displayName'];
  const m = ['account,entitlement'];
  for (const x of accounts) {
    a.push([x.id, x.name, x.identity ?? '', String(x.enabled), '', '', '', ''].map(csvField).join(','));
    for (const e of x.entitlements) m.push(`${csvField(x.name)},${csvField(e)}`);
  }
  return { accounts: a.join('\n') + '\n', memberships: m.join('\n') + '\n' };
}

function policyYaml(
  options: GenerateOrganisationOptions,
  ents: Entitlements,
  roles: readonly RoleSpec[],
  sod: readonly { id: string; description: string; conflicting: string[]; severity: RiskLevel }[],
): string {
  const risk = roleRisks(roles, ents);
  const out: string[] = [
    '# yaml-language-server: $schema=tenure.schema.json',
    "# Generated by Tenure's demo generator; edit freely, or regenerate with the same seed.",
    `# people: ${options.people}, roles: ${options.roles}, seed: ${options.seed}, as of: ${options.asOf.toISOString()}`,
    'version: 1',
    'name: Example Corporation (generated)',
    '',
    'sources:',
    '  - id: hr',
    '    format: csv',
    '    path: hr.csv',
    '    key: employee_id',
    '    kind: { field: worker_type, values: { Employee: employee, Contractor: contractor } }',
    '    status: { field: status, values: { Active: active, Leave: leave, Terminated: terminated, Pending: pre_hire } }',
    '    manager: manager_id',
    '    start_date: start_date',
    '    end_date: end_date',
    '    attributes:',
    '      department: { field: department, type: string, required: true }',
    '      title: { field: title, type: string }',
    '      location: { field: location, type: string }',
    '      cost_center: { field: cost_center, type: string }',
    '      grade: { field: grade, type: int }',
    '      clearances: { field: clearances, type: list, separator: ";" }',
    '      hired: { field: hire_date, type: date }',
    '  - id: nhi',
    '    format: json',
    '    path: nhi.json',
    '    key: name',
    '    kind: { field: type }',
    '    status: { constant: active }',
    '    owner: owner_id',
    '    credential: { created: created_at, expires: expires_at, last_rotated: rotated_at, last_used: last_used_at }',
    '    attributes:',
    '      system: { field: system, type: string }',
    '',
    'targets:',
    ...targetYaml('directory', 'Corporate directory', options.targets),
    '    account_name: identity.id',
    ...targetYaml('apps', 'SaaS applications behind single sign-on', options.targets),
    ...targetYaml('warehouse', 'Data warehouse database roles', options.targets),
    '',
    'entitlements:',
  ];
  for (const e of ents.list) {
    out.push(`  - id: ${yamlScalar(e.id)}`, `    risk: ${e.risk}`, `    description: ${yamlScalar(e.description)}`);
  }
  out.push('', roles.length === 0 ? 'roles: []' : 'roles:');
  roles.forEach((role, r) => {
    out.push(`  - id: ${yamlScalar(role.id)}`, `    description: ${yamlScalar(role.description)}`);
    if (role.businessOwner) out.push(`    business_owner: ${role.businessOwner}`);
    if (role.technicalOwner) out.push(`    technical_owner: ${role.technicalOwner}`);
    if (role.when) out.push(`    when: '${renderCel(role.when).replace(/'/g, "''")}'`);
    out.push(`    grants: ${yamlList(role.grants.map((g) => item(ents.list, g).id))}`);
    if (role.inherits.length > 0) out.push(`    inherits: ${yamlList(role.inherits.map((i) => item(roles, i).id))}`);
    out.push(`    risk: ${risk[r] ?? 'low'}`);
  });
  out.push('', 'policies:', '  separation_of_duties:');
  for (const rule of sod) {
    out.push(
      `    - id: ${yamlScalar(rule.id)}`,
      `      description: ${yamlScalar(rule.description)}`,
      `      conflicting: ${yamlList(rule.conflicting)}`,
      `      severity: ${rule.severity}`,
    );
  }
  const breaker = (n: number): string =>
    `{ max_percent: 10, min_count: 10, max_count: ${Math.max(50, Math.min(5000, Math.round(n * 0.02)))} }`;
  out.push(
    '  guardrails:',
    `    deprovision: ${breaker(options.people)}`,
    `    mass_leaver: ${breaker(options.people)}`,
    '  non_human:',
    '    owner_required: true',
    '    max_credential_age_days: 90',
    '    unused_after_days: 60',
    '  leaver:',
    '    disable: immediately',
    '    delete_after_days: 30',
    '    mover_grace_days: 3',
    '    targets: { directory: { delete_after_days: 90 }, warehouse: { delete_after_days: 14 } }',
    '  exceptions:',
    '    max_days: 90',
  );
  return out.join('\n') + '\n';
}

/** A role's risk: the highest risk of everything it grants, inherited grants included. */
function roleRisks(roles: readonly RoleSpec[], ents: Entitlements): RiskLevel[] {
  const closures = roleClosures(roles);
  return closures.map((list) =>
    list.reduce<RiskLevel>((acc, e) => {
      const r = item(ents.list, e).risk;
      return RISK_ORDER.indexOf(r) > RISK_ORDER.indexOf(acc) ? r : acc;
    }, 'low'),
  );
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

export function generateOrganisation(options: GenerateOrganisationOptions): GeneratedOrganisation {
  const { people: n, roles: roleCount, seed, asOf } = options;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`people must be an integer >= 1 (got ${n})`);
  if (!Number.isInteger(roleCount) || roleCount < 0)
    throw new RangeError(`roles must be an integer >= 0 (got ${roleCount})`);
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number (got ${seed})`);
  const asOfMs = asOf.getTime();
  if (Number.isNaN(asOfMs)) throw new RangeError('asOf must be a valid date');
  const asOfDay = Math.floor(asOfMs / DAY_MS);

  const org = generatePeople(n, seed, asOfDay);
  const nhis = generateNonHumans(org, seed, asOfMs);
  const ents = declareEntitlements(org, seed);
  const roles = buildRoles(org, ents, nhis, roleCount, seed);
  const sod: { id: string; description: string; conflicting: string[]; severity: RiskLevel }[] = [
    {
      id: 'payments-create-approve',
      description: 'Nobody both creates and approves supplier payments',
      conflicting: ['apps:role/erp-payment-create', 'apps:role/erp-payment-approve'],
      severity: 'critical',
    },
    {
      id: 'code-and-release',
      description: 'Whoever administers the code does not also approve releases',
      conflicting: ['apps:role/github-admin', 'apps:role/jenkins-release-approver'],
      severity: 'high',
    },
    {
      id: 'payroll-process-approve',
      description: 'Payroll is processed and approved by different people',
      conflicting: ['apps:role/adp-payroll-processor', 'apps:role/adp-payroll-approver', 'apps:role/workday-admin'],
      severity: 'critical',
    },
  ];
  const snapshots = buildSnapshots(org, nhis, ents, roles, seed, asOfMs);

  const files: Record<string, string> = {
    'tenure.yaml': policyYaml(options, ents, roles, sod),
    'hr.csv': hrCsv(org),
    'nhi.json': nhiJson(nhis),
  };
  for (const [path, text] of Object.entries(snapshots.files)) {
    if (options.targets !== 'csv') files[path] = text;
    else {
      const id = path.replace(/^actual\/|\.json$/g, '');
      const csv = csvTargetFiles(text);
      files[`targets/${id}/accounts.csv`] = csv.accounts;
      files[`targets/${id}/memberships.csv`] = csv.memberships;
    }
  }
  const count = (pred: (p: Person) => boolean): number => org.people.reduce((acc, p) => acc + (pred(p) ? 1 : 0), 0);
  return {
    files,
    stats: {
      people: n,
      employees: count((p) => p.worker === 'Employee'),
      contractors: count((p) => p.worker === 'Contractor'),
      active: count((p) => p.status === 'Active'),
      leave: count((p) => p.status === 'Leave'),
      terminated: count((p) => p.status === 'Terminated'),
      preHire: count((p) => p.status === 'Pending'),
      nonHumans: nhis.length,
      departments: org.departments.length,
      locations: org.locations.length,
      costCenters: org.departments.reduce((acc, d) => acc + d.costCenters.length, 0),
      entitlements: ents.list.length,
      roles: roles.length,
      unindexedRoles: snapshots.unindexed,
      separationOfDutiesRules: sod.length,
      accounts: snapshots.accounts,
      orphanAccounts: snapshots.orphans,
      averageRolesMatched: snapshots.averageRolesMatched,
      roleMatches: snapshots.roleMatches,
    },
  };
}
