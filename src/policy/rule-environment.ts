import { Environment } from '@marcbachmann/cel-js';
import type { AttributeType, Identity } from '../model/identity.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { SourceDefinition } from '../model/policy.js';

/** CEL's name for timestamps; the short name `timestamp` is not a registered type in cel-js. */
const TIMESTAMP = 'google.protobuf.Timestamp';

const CEL_TYPES: Record<AttributeType, string> = {
  string: 'string',
  int: 'int',
  double: 'double',
  bool: 'bool',
  date: TIMESTAMP,
  list: 'list<string>',
};

/** Fields every identity has, whatever its sources. */
const CORE_FIELDS: Record<string, string> = {
  id: 'string',
  kind: 'string',
  status: 'string',
  source: 'string',
  manager: 'string',
  owner: 'string',
  start_date: TIMESTAMP,
  end_date: TIMESTAMP,
};

/** The value rules see as `identity`; a class because cel-js typed objects need a constructor. */
export class CelIdentity {
  [field: string]: unknown;
}

export interface RuleEnvironment {
  readonly env: Environment;
  /** Field name → CEL type, core fields and attributes alike. */
  readonly fields: ReadonlyMap<string, string>;
  /** Field name → attribute type, for source attributes only. */
  readonly attributes: ReadonlyMap<string, AttributeType>;
}

/**
 * The typed environment every rule compiles against: `identity` with the core fields plus every
 * attribute the sources declare, and `now`. Type errors in rules are then found at validate time.
 */
export function buildRuleEnvironment(sources: readonly SourceDefinition[]): {
  environment: RuleEnvironment;
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const attributes = new Map<string, AttributeType>();
  const declaredBy = new Map<string, string>();
  for (const source of sources) {
    for (const [name, mapping] of Object.entries(source.attributes)) {
      if (name in CORE_FIELDS) {
        diagnostics.push({
          severity: 'error',
          code: 'policy.reserved_attribute',
          message: `attribute "${name}" of source "${source.id}" has the name of a built-in identity field`,
          hint: `rename it; identity.${name} is always set by Tenure (${Object.keys(CORE_FIELDS).join(', ')})`,
          position: source.position,
        });
        continue;
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        diagnostics.push({
          severity: 'error',
          code: 'policy.attribute_name',
          message: `attribute name "${name}" of source "${source.id}" cannot be used in a rule`,
          hint: 'use letters, digits and "_", starting with a letter',
          position: source.position,
        });
        continue;
      }
      const previous = attributes.get(name);
      if (previous !== undefined && previous !== mapping.type) {
        diagnostics.push({
          severity: 'error',
          code: 'policy.attribute_type_conflict',
          message: `attribute "${name}" is ${mapping.type} in source "${source.id}" but ${previous} in source "${declaredBy.get(name)}"`,
          hint: 'give the attribute one type in every source that declares it',
          position: source.position,
        });
        continue;
      }
      attributes.set(name, mapping.type);
      declaredBy.set(name, source.id);
    }
  }
  const fields = new Map<string, string>(Object.entries(CORE_FIELDS));
  for (const [name, type] of attributes) fields.set(name, CEL_TYPES[type]);
  const env = new Environment({ homogeneousAggregateLiterals: true })
    .registerType('Identity', { ctor: CelIdentity, fields: Object.fromEntries(fields) })
    .registerVariable('identity', 'Identity')
    .registerVariable('now', TIMESTAMP);
  return { environment: { env, fields, attributes }, diagnostics };
}

/** The object a rule sees for an identity; absent values stay absent so `has()` works. */
export function toCelIdentity(identity: Identity): CelIdentity {
  const o = new CelIdentity();
  o.id = identity.id;
  o.kind = identity.kind;
  o.status = identity.status;
  o.source = identity.source;
  if (identity.manager !== undefined) o.manager = identity.manager;
  if (identity.owner !== undefined) o.owner = identity.owner;
  if (identity.startDate !== undefined) o.start_date = identity.startDate;
  if (identity.endDate !== undefined) o.end_date = identity.endDate;
  for (const name in identity.attributes) o[name] = identity.attributes[name];
  return o;
}

/** Reads a field as a rule sees it (core field or attribute). */
export function identityField(identity: Identity, field: string): unknown {
  switch (field) {
    case 'id':
      return identity.id;
    case 'kind':
      return identity.kind;
    case 'status':
      return identity.status;
    case 'source':
      return identity.source;
    case 'manager':
      return identity.manager;
    case 'owner':
      return identity.owner;
    case 'start_date':
      return identity.startDate;
    case 'end_date':
      return identity.endDate;
    default:
      return identity.attributes[field];
  }
}
