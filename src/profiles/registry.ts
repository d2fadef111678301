import { logstash } from './logstash.js';
import { packetbeat5 } from './packetbeat5.js';
import { packetbeat6 } from './packetbeat6.js';
import { packetbeat7 } from './packetbeat7.js';
import { packetbeat8 } from './packetbeat8.js';
import type { Profile, ProfileName } from './profile.js';
import { vector } from './vector.js';

/** Every profile, in the order `--help` lists them. Adding one: a file, its name here and in `ProfileName`. */
export const PROFILE_LIST: readonly Profile[] = [packetbeat5, packetbeat6, packetbeat7, packetbeat8, logstash, vector];

/** The profiles' names, as `--profile` takes them. */
export const PROFILES: readonly ProfileName[] = PROFILE_LIST.map((p) => p.name);

export function profileOf(name: ProfileName): Profile {
  return PROFILE_LIST.find((p) => p.name === name)!;
}
