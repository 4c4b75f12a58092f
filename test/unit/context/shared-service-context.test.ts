import type { ServiceRun, ServiceSource } from '../../../lib/context/shared-service-context';
import { SERVICE_SOURCES, SharedServiceContextReader, sharedContextReader } from '../../../lib/context/shared-service-context';
import type { ChangeLookup, LookupWindow } from '../../../lib/context/aws/aws-input';
import type { BurstMark, ServiceContextCachePort, SharedServiceContext } from '../../../lib/state/service-context-cache';
import { makeIncident } from '../../support/fake-pagerduty';

const T0 = new Date('2026-03-01T10:00:30Z');

/** An in-memory cache with the DynamoDB one's semantics: freshness, one lease at a time, an atomic burst count. */
class MemoryCache implements ServiceContextCachePort {
  readonly items = new Map<string, { value?: unknown; freshUntil?: number; leaseUntil?: number }>();
  readonly bursts = new Map<string, BurstMark>();
  failing = false;

  private check(): void {
    if (this.failing) throw new Error('ProvisionedThroughputExceededException: the table is throttled');
  }
  private readFresh<T>(key: string, now: Date): T | undefined {
    this.check();
    const item = this.items.get(key);
    return item?.freshUntil !== undefined && item.freshUntil > now.getTime() ? (item.value as T) : undefined;
  }
  private claim(key: string, now: Date, leaseUntil: Date): boolean {
    this.check();
    const item = this.items.get(key) ?? {};
    if ((item.freshUntil ?? 0) > now.getTime() || (item.leaseUntil ?? 0) > now.getTime()) return false;
    this.items.set(key, { ...item, leaseUntil: leaseUntil.getTime() });
    return true;
  }
  private writeFresh(key: string, value: unknown, freshUntil: Date): boolean {
    this.check();
    this.items.set(key, { value, freshUntil: freshUntil.getTime() });
    return true;
  }

  async joinBurst(serviceId: string, windowStart: Date, seenAt: Date): Promise<BurstMark> {
    this.check();
    const key = `${serviceId}#${windowStart.toISOString()}`;
    const mark = this.bursts.get(key) ?? { count: 0, since: seenAt.toISOString() };
    const next = { ...mark, count: mark.count + 1 };
    this.bursts.set(key, next);
    return next;
  }
  read = async (serviceId: string, now: Date) => this.readFresh<SharedServiceContext>(`service:${serviceId}`, now);
  claimRead = async (serviceId: string, now: Date, leaseUntil: Date) => this.claim(`service:${serviceId}`, now, leaseUntil);
  write = async (serviceId: string, context: SharedServiceContext, freshUntil: Date) =>
    this.writeFresh(`service:${serviceId}`, context, freshUntil);
  readPastNotes = async (incidentId: string, now: Date) => this.readFresh<string[]>(`notes:${incidentId}`, now);
  claimPastNotes = async (incidentId: string, now: Date, leaseUntil: Date) => this.claim(`notes:${incidentId}`, now, leaseUntil);
  writePastNotes = async (incidentId: string, notes: string[], freshUntil: Date) =>
    this.writeFresh(`notes:${incidentId}`, notes, freshUntil);
  readChangeLookup = async (key: string, now: Date) => this.readFresh<ChangeLookup>(`changes:${key}`, now);
  claimChangeLookup = async (key: string, now: Date, leaseUntil: Date) => this.claim(`changes:${key}`, now, leaseUntil);
  writeChangeLookup = async (key: string, lookup: ChangeLookup, freshUntil: Date) => this.writeFresh(`changes:${key}`, lookup, freshUntil);
}

/** Records which sources each incident read from PagerDuty, and answers fixed values. */
function pagerDuty() {
  const reads: ServiceSource[][] = [];
  const read = async (sources: readonly ServiceSource[]): Promise<ServiceRun> => {
    reads.push([...sources]);
    const all = { recentIncidents: [makeIncident({ id: 'POLD' })], changeEvents: [], oncalls: [] };
    return { results: Object.fromEntries(sources.map((source) => [source, all[source]])), unavailable: [] };
  };
  return { reads, read };
}

/** A caller with time to spare: the wait is bounded by `waitMs` alone. */
const ample = () => 60_000;

const incident = (id: string, overrides = {}) => makeIncident({ id, created_at: '2026-03-01T10:00:00Z', ...overrides });

describe('SharedServiceContextReader', () => {
  it('reads the service-level sources once for a burst and shares them with the next incidents', async () => {
    const cache = new MemoryCache();
    const reader = new SharedServiceContextReader({ cache });
    const { reads, read } = pagerDuty();
    const first = await reader.gather(incident('P1'), () => T0, read, ample);
    const second = await reader.gather(incident('P2'), () => T0, read, ample);
    const third = await reader.gather(incident('P3'), () => T0, read, ample);
    expect(reads).toEqual([[...SERVICE_SOURCES]]);
    expect(first).toMatchObject({ origin: 'read-and-shared' });
    expect(first.burst).toBeUndefined();
    expect(second).toMatchObject({ origin: 'shared', burst: { count: 2, since: '2026-03-01T10:00:00.000Z' } });
    expect(third.results.recentIncidents?.map((past) => past.id)).toEqual(['POLD']);
    expect(third.burst?.count).toBe(3);
  });

  it('reads again once the shared context is older than the window', async () => {
    const cache = new MemoryCache();
    const reader = new SharedServiceContextReader({ cache, settings: { windowMs: 60_000 } });
    const { reads, read } = pagerDuty();
    await reader.gather(incident('P1'), () => T0, read, ample);
    await reader.gather(incident('P2'), () => new Date(T0.getTime() + 60_000), read, ample);
    expect(reads).toHaveLength(2);
  });

  it('waits for the first reader, then uses what it shared', async () => {
    const cache = new MemoryCache();
    let clock = T0.getTime();
    const { reads, read } = pagerDuty();
    await cache.claimRead('PSVC001', T0, new Date(T0.getTime() + 4_500));
    // The first reader finishes while the second waits (the wait is where it would sleep).
    const sleep = async (ms: number) => {
      clock += ms;
      await cache.write(
        'PSVC001',
        { readAt: T0.toISOString(), escalationPolicyId: 'PEP0001', recentIncidents: [], changeEvents: [], oncalls: [] },
        new Date(clock + 60_000),
      );
    };
    const run = await new SharedServiceContextReader({ cache, sleep }).gather(incident('P2'), () => new Date(clock), read, ample);
    expect(run.origin).toBe('shared');
    expect(reads).toEqual([]);
  });

  it('reads for itself when the first reader is not done within the wait bound', async () => {
    const cache = new MemoryCache();
    let clock = T0.getTime();
    const sleeps: number[] = [];
    await cache.claimRead('PSVC001', T0, new Date(T0.getTime() + 60_000));
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
    };
    const { reads, read } = pagerDuty();
    const run = await new SharedServiceContextReader({ cache, sleep, settings: { waitMs: 1_000, pollMs: 250 } }).gather(
      incident('P2'),
      () => new Date(clock),
      read,
      ample,
    );
    expect(run.origin).toBe('read');
    expect(reads).toEqual([[...SERVICE_SOURCES]]);
    expect(sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(1_000);
  });

  it("stops waiting when the caller's allowance ends before the wait bound, and reads for itself", async () => {
    const cache = new MemoryCache();
    let clock = T0.getTime();
    const sleeps: number[] = [];
    await cache.claimRead('PSVC001', T0, new Date(T0.getTime() + 60_000));
    await cache.claimPastNotes('POLD', T0, new Date(T0.getTime() + 60_000));
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
    };
    const reader = new SharedServiceContextReader({ cache, sleep, settings: { waitMs: 5_000, pollMs: 250 } });
    const { reads, read } = pagerDuty();

    const run = await reader.gather(
      incident('P2'),
      () => new Date(clock),
      read,
      () => 600,
    );

    expect(run.origin).toBe('read');
    expect(reads).toEqual([[...SERVICE_SOURCES]]);
    expect(sleeps).toEqual([250, 250, 100]);

    // No time to spare at all: one look at the cache, no wait.
    sleeps.length = 0;
    expect(
      await reader.pastNotes(
        'POLD',
        () => new Date(clock),
        async () => ['Restarted the consumer'],
        () => -200,
      ),
    ).toEqual(['Restarted the consumer']);
    expect(sleeps).toEqual([]);
  });

  it('reads for itself, and says why, when the cache fails', async () => {
    const cache = new MemoryCache();
    cache.failing = true;
    const errors: unknown[] = [];
    const { reads, read } = pagerDuty();
    const run = await new SharedServiceContextReader({ cache, onCacheError: (error) => errors.push(error) }).gather(
      incident('P1'),
      () => T0,
      read,
      ample,
    );
    expect(run).toMatchObject({ origin: 'read', unavailable: [] });
    expect(run.burst).toBeUndefined();
    expect(reads).toEqual([[...SERVICE_SOURCES]]);
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'ProvisionedThroughputExceededException: the table is throttled',
      'ProvisionedThroughputExceededException: the table is throttled',
    ]);
  });

  it('reads what the first reader did not get, and the on-calls of another escalation policy', async () => {
    const cache = new MemoryCache();
    await cache.write(
      'PSVC001',
      { readAt: T0.toISOString(), escalationPolicyId: 'PEP0001', recentIncidents: [], oncalls: [] },
      new Date(T0.getTime() + 60_000),
    );
    const { reads, read } = pagerDuty();
    const reader = new SharedServiceContextReader({ cache });
    await reader.gather(incident('P2'), () => T0, read, ample);
    await reader.gather(
      incident('P3', { escalation_policy: { id: 'PEP0002', type: 'escalation_policy_reference' } }),
      () => T0,
      read,
      ample,
    );
    expect(reads).toEqual([['changeEvents'], ['changeEvents', 'oncalls']]);
  });

  it('does not share when PagerDuty stops the first reader: the error is the run’s', async () => {
    const cache = new MemoryCache();
    const throttled = new Error('PagerDuty answered 429');
    await expect(
      new SharedServiceContextReader({ cache }).gather(
        incident('P1'),
        () => T0,
        async () => {
          throw throttled;
        },
        ample,
      ),
    ).rejects.toBe(throttled);
    expect(await cache.read('PSVC001', T0)).toBeUndefined();
  });

  it('reads a past incident’s notes once and shares them', async () => {
    const cache = new MemoryCache();
    const reader = new SharedServiceContextReader({ cache });
    let read = 0;
    const notes = async () => {
      read += 1;
      return ['Restarted the consumer'];
    };
    expect(await reader.pastNotes('POLD', () => T0, notes, ample)).toEqual(['Restarted the consumer']);
    expect(await reader.pastNotes('POLD', () => T0, notes, ample)).toEqual(['Restarted the consumer']);
    expect(read).toBe(1);
  });

  it('lets one incident read a past incident’s notes while the others wait for them', async () => {
    const cache = new MemoryCache();
    let clock = T0.getTime();
    await cache.claimPastNotes('POLD', T0, new Date(T0.getTime() + 4_500));
    const sleep = async (ms: number) => {
      clock += ms;
      await cache.writePastNotes('POLD', ['Restarted the consumer'], new Date(clock + 60_000));
    };
    const reader = new SharedServiceContextReader({ cache, sleep });
    const notes = await reader.pastNotes(
      'POLD',
      () => new Date(clock),
      async () => {
        throw new Error('must not read: another incident is reading them');
      },
      ample,
    );
    expect(notes).toEqual(['Restarted the consumer']);
  });

  it('is off when the configured window is 0 seconds', () => {
    expect(sharedContextReader(0, new MemoryCache())).toBeUndefined();
    expect(sharedContextReader(120, new MemoryCache())).toBeInstanceOf(SharedServiceContextReader);
  });
});

describe('SharedServiceContextReader: CloudTrail lookups in a burst', () => {
  const minute = 60_000;
  const at = (minutesAfterT0: number) => new Date(T0.getTime() + minutesAfterT0 * minute);
  /** A CloudTrail lookup that records the windows it was asked for. */
  function cloudTrail() {
    const windows: LookupWindow[] = [];
    const read = async (window: LookupWindow): Promise<ChangeLookup> => {
      windows.push(window);
      return {
        start: window.start.toISOString(),
        end: window.end.toISOString(),
        changes: [
          {
            id: 'E1',
            change: {
              at: at(-5).toISOString(),
              source: 'cloudtrail',
              action: 'lambda:UpdateFunctionCode',
              summary: 'deployed',
              onAlarmedResource: true,
            },
          },
        ],
      };
    };
    return { windows, read };
  }

  it('looks up once for the incidents whose windows the first lookup covers, reading up to now', async () => {
    const cache = new MemoryCache();
    let clock = at(2);
    const reader = new SharedServiceContextReader({ cache, sleep: async () => undefined });
    const trail = cloudTrail();
    const first = await reader.changeLookup(
      'acct|eu-west-1|orders-api',
      { start: at(-60), end: at(0) },
      () => clock,
      trail.read,
      () => 5000,
    );
    clock = at(2.2);
    const second = await reader.changeLookup(
      'acct|eu-west-1|orders-api',
      { start: at(-59), end: at(1) },
      () => clock,
      trail.read,
      () => 5000,
    );
    expect(trail.windows).toEqual([{ start: at(-60), end: at(2) }]);
    expect(second).toEqual(first);
  });

  it('looks up alone, without waiting, when the shared lookup does not cover the window (an incident triggered later)', async () => {
    const cache = new MemoryCache();
    let clock = at(0);
    const sleeps: number[] = [];
    const reader = new SharedServiceContextReader({ cache, sleep: async (ms) => void sleeps.push(ms) });
    const trail = cloudTrail();
    await reader.changeLookup(
      'k',
      { start: at(-60), end: at(0) },
      () => clock,
      trail.read,
      () => 5000,
    );
    clock = at(0.2);
    await reader.changeLookup(
      'k',
      { start: at(-59), end: at(1) },
      () => clock,
      trail.read,
      () => 5000,
    );
    expect(trail.windows).toEqual([
      { start: at(-60), end: at(0) },
      { start: at(-59), end: at(1) },
    ]);
    expect(sleeps).toEqual([]);
  });

  it('shares a lookup for 30 s at most, and looks up alone when the cache fails', async () => {
    const cache = new MemoryCache();
    let clock = at(0);
    const reader = new SharedServiceContextReader({ cache, sleep: async () => undefined });
    const trail = cloudTrail();
    await reader.changeLookup(
      'k',
      { start: at(-60), end: at(0) },
      () => clock,
      trail.read,
      () => 5000,
    );
    clock = new Date(at(0).getTime() + 31_000);
    await reader.changeLookup(
      'k',
      { start: at(-60), end: at(0) },
      () => clock,
      trail.read,
      () => 5000,
    );
    expect(trail.windows).toHaveLength(2);
    cache.failing = true;
    await reader.changeLookup(
      'k',
      { start: at(-60), end: at(0) },
      () => clock,
      trail.read,
      () => 5000,
    );
    expect(trail.windows).toHaveLength(3);
  });
});
