import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { SCIM_ENTERPRISE_USER, SCIM_GROUP, SCIM_USER, scimDiscovery } from './scim-discovery.js';

const userType = (extensions: string[] = [SCIM_ENTERPRISE_USER]) => ({
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  schema: SCIM_USER,
  schemaExtensions: extensions.map((schema) => ({ schema, required: false })),
});
const groupType = { id: 'Group', name: 'Group', endpoint: '/Groups', schema: SCIM_GROUP };
const list = (resources: unknown[]) => ({ Resources: resources, totalResults: resources.length });

describe('scimDiscovery', () => {
  const cases: [string, Parameters<typeof scimDiscovery>, Partial<ReturnType<typeof scimDiscovery>>][] = [
    [
      'nothing served: the defaults',
      [undefined, undefined, undefined],
      { groups: true, filter: true, patch: false, bulk: false, etag: false, sort: false, enterpriseUser: true },
    ],
    [
      'a ServiceProviderConfig says what it supports; a missing key keeps its default',
      [{ patch: { supported: true }, etag: { supported: true }, filter: { supported: false } }, undefined, undefined],
      { patch: true, etag: true, filter: false, sort: false },
    ],
    [
      'resource types without Group and without the extension',
      [undefined, list([userType([])]), list([{ id: SCIM_USER }, { id: SCIM_GROUP }, { id: SCIM_ENTERPRISE_USER }])],
      { groups: false, enterpriseUser: false },
    ],
    [
      'resource types as a bare array',
      [undefined, [userType(), groupType], undefined],
      { groups: true, enterpriseUser: true },
    ],
    [
      'only Schemas: what it leaves out is absent',
      [undefined, undefined, list([{ id: SCIM_USER }])],
      {
        groups: false,
        enterpriseUser: false,
        served: { serviceProviderConfig: false, resourceTypes: false, schemas: true },
      },
    ],
  ];
  for (const [name, args, expected] of cases) {
    it(name, () => {
      const found = scimDiscovery(...args);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(found[key as keyof typeof found], value, key);
      }
    });
  }
});
