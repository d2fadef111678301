/** Live mode's output thread (`OUTPUT_THREAD_SCRIPT` in `live.ts` names its built file). */
import { parentPort, workerData } from 'node:worker_threads';
import { runOutput } from './output.js';
import { Ring } from './ring.js';

/** What the analyzer hands the output thread. */
export interface OutputWorkerData {
  ring: SharedArrayBuffer;
  control: SharedArrayBuffer;
  out: string;
  costUs: number;
}

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as OutputWorkerData;
  runOutput(Ring.attach(data.ring), new Int32Array(data.control), {
    out: data.out,
    costUs: data.costUs,
    onReady: () => port.postMessage({ ready: true }),
  });
}
