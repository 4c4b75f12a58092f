import { buildWorker } from '../lib/wiring/worker';

export const { handler } = buildWorker();
