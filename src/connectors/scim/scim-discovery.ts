// What a SCIM service says about itself (RFC 7643 §5–7): its ServiceProviderConfig, ResourceTypes and Schemas, read
// into one value. Pure: the connector fetches the three documents and hands them here.

export const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** What the scim connector learnt from a service, and so how it talks to it. */
export interface ScimDiscovery {
  /** The service has a Groups resource type (memberships can be read and granted). */
  readonly groups: boolean;
  readonly filter: boolean;
  readonly patch: boolean;
  readonly bulk: boolean;
  readonly etag: boolean;
  readonly sort: boolean;
  /** Users carry the enterprise extension (RFC 7643 §4.3): `employeeNumber`, `department` ... */
  readonly enterpriseUser: boolean;
  /**
   * Documents whose request failed for now (a 5xx, a timeout): the defaults stand in for them, and they are asked
   * again on the next call. Empty when every document was answered (or is missing: see `served`).
   */
  readonly unanswered: readonly string[];
  /** Which of the three documents the service served; for one it did not, the values above are the defaults. */
  readonly served: {
    readonly serviceProviderConfig: boolean;
    readonly resourceTypes: boolean;
    readonly schemas: boolean;
  };
}

type Json = Record<string, unknown>;

/** The resources of a ListResponse, or of a bare array (some services answer one). */
function resources(document: unknown): Json[] | undefined {
  if (Array.isArray(document)) return document as Json[];
  const list = (document as Json | undefined)?.Resources;
  return Array.isArray(list) ? (list as Json[]) : undefined;
}

/**
 * The discovery from what each endpoint answered (undefined: it does not exist, 404 or 501). Without a
 * ServiceProviderConfig: filtering assumed (a refused filter is caught where it is sent), PATCH not (PUT works
 * everywhere). Without ResourceTypes: Groups and the enterprise extension assumed (a 404 on /Groups is caught where
 * it happens), unless Schemas lists the schemas and leaves one out.
 */
export function scimDiscovery(
  serviceProviderConfig: Json | undefined,
  resourceTypes: unknown,
  schemas: unknown,
): ScimDiscovery {
  const supported = (key: string, fallback: boolean): boolean => {
    const v = serviceProviderConfig?.[key] as Json | undefined;
    return typeof v?.supported === 'boolean' ? v.supported : fallback;
  };
  const types = resources(resourceTypes);
  const schemaIds = resources(schemas)?.map((s) => String(s.id));
  const userType = types?.find((t) => t.schema === SCIM_USER || t.name === 'User');
  const groupType = types?.find((t) => t.schema === SCIM_GROUP || t.name === 'Group' || t.endpoint === '/Groups');
  const extensions = Array.isArray(userType?.schemaExtensions) ? (userType.schemaExtensions as Json[]) : undefined;
  const groups = types ? groupType !== undefined : (schemaIds?.includes(SCIM_GROUP) ?? true);
  const enterpriseUser =
    types && userType
      ? (extensions ?? []).some((e) => e.schema === SCIM_ENTERPRISE_USER)
      : (schemaIds?.includes(SCIM_ENTERPRISE_USER) ?? true);
  return {
    groups,
    filter: supported('filter', true),
    patch: supported('patch', false),
    bulk: supported('bulk', false),
    etag: supported('etag', false),
    sort: supported('sort', false),
    enterpriseUser,
    unanswered: [],
    served: {
      serviceProviderConfig: serviceProviderConfig !== undefined,
      resourceTypes: types !== undefined,
      schemas: schemaIds !== undefined,
    },
  };
}
