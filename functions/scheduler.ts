import { buildScheduler } from '../lib/wiring/scheduler';

export const { handler } = buildScheduler();
