import type { IngressHandler } from '../lib/ingress/ingress-handler';
import { buildIngress } from '../lib/wiring/ingress';

export const handler: IngressHandler = buildIngress();
