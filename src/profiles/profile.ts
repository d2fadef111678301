import type { PipelineConfig, ProfileName } from '../pipeline/config.js';
import type { Topology } from './topology.js';

/**
 * A system lockstep models: its name, its defaults and the shape of its
 * pipeline. Adding a profile is adding a file that exports one of these and
 * naming it in `index.ts`.
 */
export interface Profile {
  readonly name: ProfileName;
  /** One line for `--help` and reports. */
  readonly summary: string;
  /** Every setting, as the system ships it. */
  readonly defaults: Omit<PipelineConfig, 'profile'>;
  /** The pipeline a configuration of this profile runs. */
  topology(config: PipelineConfig): Topology;
}
