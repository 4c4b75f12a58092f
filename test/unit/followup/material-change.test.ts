import fc from 'fast-check';
import { MIN_BREACH_SHARE, WORSENED_SHARE, materialChanges } from '../../../lib/followup/material-change';
import { breaches } from '../../../lib/context/aws/metric-shape';
import { type ContextSnapshot } from '../../../lib/followup/snapshot';

const threshold = { comparison: '>' as const, value: 5 };
const snapshot = (at: string, latest: number | undefined, extra: Partial<ContextSnapshot> = {}): ContextSnapshot => ({
  at,
  threshold,
  changes: [],
  errorSignatures: [],
  ...(latest === undefined ? {} : { metric: { label: 'Errors', latest, crossed: breaches(latest, threshold), climbing: false } }),
  ...extra,
});
const T0 = '2026-03-10T03:20:00.000Z';
const T1 = '2026-03-10T03:35:00.000Z';

describe('materialChanges', () => {
  it('says the metric recovered when it went back within its threshold', () => {
    expect(materialChanges(snapshot(T0, 14), snapshot(T1, 0.5))).toEqual([{ kind: 'metric-recovered', label: 'Errors', latest: 0.5 }]);
  });

  it('says the metric crossed again when it went past its threshold from within it', () => {
    expect(materialChanges(snapshot(T0, 1), snapshot(T1, 9))).toEqual([{ kind: 'metric-crossed-again', label: 'Errors', latest: 9 }]);
  });

  it('says the metric worsened only when the breach grew by half or more', () => {
    expect(materialChanges(snapshot(T0, 9), snapshot(T1, 11))).toEqual([{ kind: 'metric-worsened', label: 'Errors', from: 9, latest: 11 }]);
    expect(materialChanges(snapshot(T0, 9), snapshot(T1, 10.9))).toEqual([]);
  });

  it('names a change that landed after the last look, and not one it knew of or one older than the look', () => {
    const known = { key: 'a', at: '2026-03-10T03:06:00.000Z', summary: 'Published version 42', onAlarmedResource: true };
    const rollback = { key: 'b', at: '2026-03-10T03:30:00.000Z', summary: 'Published version 41', onAlarmedResource: true };
    const missedEarlier = { key: 'c', at: '2026-03-10T03:00:00.000Z', summary: 'older', onAlarmedResource: false };
    const changes = materialChanges(
      snapshot(T0, 14, { changes: [known] }),
      snapshot(T1, 14, { changes: [known, rollback, missedEarlier] }),
    );
    expect(changes).toEqual([{ kind: 'new-change', at: rollback.at, summary: 'Published version 41', onAlarmedResource: true }]);
  });

  it('names a new error signature, a flip of the alarm and alerts that cleared', () => {
    const before = snapshot(T0, undefined, { errorSignatures: ['TypeError <*>'], alarmFlips: 2, alertsCleared: false });
    const after = snapshot(T1, undefined, {
      errorSignatures: ['TypeError <*>', 'Timeout after <*> ms'],
      alarmFlips: 3,
      alertsCleared: true,
    });
    expect(materialChanges(before, after)).toEqual([
      { kind: 'new-error', signature: 'Timeout after <*> ms' },
      { kind: 'alarm-flipped', flips: 1 },
      { kind: 'alerts-cleared' },
    ]);
  });

  it('finds nothing when the metric wanders on one side of its threshold and the same changes are read again (generated)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.double({ min: 0.01, max: 4.99, noNaN: true }),
        (above, breach, growth, within) => {
          const changes = [{ key: 'k', at: T0, summary: 's', onAlarmedResource: true }];
          // Past the threshold by `breach`, then by less than WORSENED_SHARE more (of the breach, or of 10% of the threshold).
          const scale = Math.max(breach, MIN_BREACH_SHARE * 5);
          const before = snapshot(T0, above ? 5 + breach : within, { changes });
          const after = snapshot(T1, above ? 5 + breach + growth * WORSENED_SHARE * scale : 5 - within / 2, { changes });
          expect(materialChanges(before, after)).toEqual([]);
        },
      ),
    );
  });

  it('always reports a crossing of the threshold, whatever the values (generated)', () => {
    fc.assert(
      fc.property(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.double({ min: -1000, max: 1000, noNaN: true }), (from, to) => {
        const kinds = materialChanges(snapshot(T0, from), snapshot(T1, to)).map((change) => change.kind);
        if (from > 5 && to <= 5) expect(kinds).toEqual(['metric-recovered']);
        if (from <= 5 && to > 5) expect(kinds).toEqual(['metric-crossed-again']);
        if (from > 5 === to > 5) expect(kinds.filter((kind) => kind !== 'metric-worsened')).toEqual([]);
      }),
    );
  });
});
