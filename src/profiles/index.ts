import type { ProfileName } from '../pipeline/config.js';
import { logstash } from './logstash.js';
import { packetbeat5 } from './packetbeat5.js';
import { packetbeat6 } from './packetbeat6.js';
import type { Profile } from './profile.js';

export type { Profile } from './profile.js';
export type { QueueSpec, ShutdownSpec, StageSpec, Topology } from './topology.js';

/** Every profile, by name. */
export const PROFILE_LIST: readonly Profile[] = [packetbeat5, packetbeat6, logstash];

export function profileOf(name: ProfileName): Profile {
  return PROFILE_LIST.find((p) => p.name === name)!;
}
