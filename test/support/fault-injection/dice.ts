import { createHash } from 'node:crypto';

/**
 * Seeded fault decisions. Each decision is a hash of the seed, the kind of fault, a key (a table item, an event id, a
 * PagerDuty call) and how many times that key was rolled before: the same seed makes the same decisions for the same
 * operations whatever order concurrent work happens in, so a failing run replays with `FAULT_SEED=<seed>`.
 */
export class FaultDice {
  private readonly rolls = new Map<string, number>();

  constructor(readonly seed: number) {}

  /** True with probability `rate` for the n-th roll of (`kind`, `key`). */
  roll(kind: string, key: string, rate: number): boolean {
    if (rate <= 0) return false;
    const id = `${kind}|${key}`;
    const n = this.rolls.get(id) ?? 0;
    this.rolls.set(id, n + 1);
    return this.fraction(`${id}|${n}`) < rate;
  }

  /** A stable number in [0, 1) for this key under this seed (no counter: the same key gives the same value). */
  fraction(key: string): number {
    const digest = createHash('sha256').update(`${this.seed}|${key}`).digest();
    return digest.readUInt32BE(0) / 2 ** 32;
  }

  /** A stable integer in [min, max] for this key. */
  between(key: string, min: number, max: number): number {
    return min + Math.floor(this.fraction(key) * (max - min + 1));
  }
}

/** The seed of this run: `FAULT_SEED` when set (to replay a failure), otherwise a fresh one. */
export function faultSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FAULT_SEED;
  if (raw === undefined || raw.trim() === '') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`FAULT_SEED must be a non-negative integer (got "${raw}"); use the seed a failed run printed.`);
  return seed;
}
