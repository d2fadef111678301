/** Live mode's publisher and output threads (`THREAD_SCRIPT` in `live.ts` names its built file). */
import { parentPort, workerData } from 'node:worker_threads';
import { runOutput, runPublisher } from './output.js';
import { Ring } from './ring.js';

/** What the analyzer hands each thread. */
export type ThreadData =
  | { role: 'publisher'; channel: SharedArrayBuffer; queue: SharedArrayBuffer; control: SharedArrayBuffer; costUs: number }
  | { role: 'output'; queue: SharedArrayBuffer; control: SharedArrayBuffer; out: string; costUs: number };

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as ThreadData;
  const onReady = () => port.postMessage({ ready: true });
  const control = new Int32Array(data.control);
  if (data.role === 'publisher') runPublisher(Ring.attach(data.channel), Ring.attach(data.queue), control, { costUs: data.costUs, onReady });
  else runOutput(Ring.attach(data.queue), control, { out: data.out, costUs: data.costUs, onReady });
}
