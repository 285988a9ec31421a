// The entry of the copy worker's own bundle (build/remote-worker-code.mjs), which the agent bundle
// embeds as code: a worker started from the whole agent bundle evaluates all of it (zod's 750 KB
// among it) and took ~90 ms to come up on this 2-core machine, one started from this ~35 ms. That
// time is spent inside every move's start.
import { parentPort, workerData } from 'node:worker_threads';
import { runRemoteWorker } from './remote-worker.js';
import type { RemoteWorkerData } from './remote-worker-protocol.js';

const data = workerData as RemoteWorkerData | undefined;
if (!parentPort || data?.role !== 'remote-backend') throw new Error('ferry-agent: unknown worker role');
void runRemoteWorker(parentPort, data);
