import type { RotationEvent } from '../lib/rotation/rotate-credentials';
import { buildRotation } from '../lib/wiring/rotation';

const rotate = buildRotation();

/** Secrets Manager rotation entry point: one call per step (createSecret, setSecret, testSecret, finishSecret). */
export const handler = (event: RotationEvent): Promise<void> => rotate(event);
