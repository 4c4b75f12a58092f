import type { IngressHandler } from '../lib/adapters/api-gateway';
import { buildIngress } from '../lib/wiring/ingress';

export const handler: IngressHandler = buildIngress();
