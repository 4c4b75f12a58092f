import { buildHandback } from '../lib/wiring/handback';

export const { handler } = buildHandback();
