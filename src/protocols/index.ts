export type * from './protocol.js';
export { ANALYZER_EVENTS, eventTimestamp } from './protocol.js';
export { analyzersFor, type PortMap } from './dispatch.js';
export { Encoders } from './encoders.js';
