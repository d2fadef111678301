// Kept only for src/cli/bench.ts, which is being replaced (main has already removed it): delete with it.
export { scenario, SCENARIO_DIR } from '../gen/scenarios.js';
