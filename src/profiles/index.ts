export * from './config.js';
export * from './profile.js';
export { PROFILE_LIST, PROFILES, profileOf } from './registry.js';
export type { QueueSpec, RunView, ShutdownSpec, StageSpec, StoreView, Topology } from './topology.js';
export * from './validate.js';
export * from './values.js';
