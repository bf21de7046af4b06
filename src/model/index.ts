export * from './diagnostic.js';
export * from './identity.js';
export * from './entitlement.js';
export * from './policy.js';
export * from './grant.js';
export * from './actual-state.js';
export * from './plan.js';
