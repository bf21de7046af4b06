import { z } from 'zod';

/**
 * The API's named schemas (components of the OpenAPI document). Its own registry, not zod's global
 * one, which also holds the policy file's schemas.
 */
export const apiRegistry = z.registry<{ id: string; description?: string }>();
