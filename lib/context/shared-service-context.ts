import type { ChangeEvent, Incident, Oncall } from '../pagerduty/types';
import type { BurstMark, ServiceContextCachePort, SharedServiceContext } from '../state/service-context-cache';
import type { ChangeLookup, LookupWindow } from './aws/aws-input';
import type { ProviderRun } from './provider';

/**
 * Storms: when many incidents open on one service within minutes, the service-level sources (recent incidents on the
 * service, related change events, on-calls of its escalation policy) are read from PagerDuty by the first incident
 * and shared with the others through the state table while fresh. The alerts and the AWS providers stay per incident:
 * they describe one alert's alarm, metric and resource, which differ between the incidents of a burst.
 * The cache only saves requests: when it fails, is slow to fill or holds a source the first reader did not get, the
 * incident reads for itself, exactly as without it.
 */

export interface ServiceSources {
  recentIncidents: Incident[];
  changeEvents: ChangeEvent[];
  oncalls: Oncall[];
}

export type ServiceSource = keyof ServiceSources;
export const SERVICE_SOURCES: readonly ServiceSource[] = ['recentIncidents', 'changeEvents', 'oncalls'];

export interface SharedContextSettings {
  /** How long a service's context is shared after it was read, and the length of the windows bursts are counted in. */
  windowMs: number;
  /** The first reader's lease: others wait for it at most this long before one of them may take over. */
  leaseMs: number;
  /** An incident waits at most this long for the first reader, then reads for itself. */
  waitMs: number;
  /** How often a waiting incident looks for the shared context. */
  pollMs: number;
}

/** CloudTrail lookups are shared for at most this long (or the context's window, when shorter). */
export const CHANGE_LOOKUP_FRESH_MS = 30_000;

export const DEFAULT_SHARED_CONTEXT_SETTINGS: SharedContextSettings = { windowMs: 180_000, leaseMs: 4_500, waitMs: 5_000, pollMs: 150 };

export interface SharedContextDeps {
  cache: ServiceContextCachePort;
  settings?: Partial<SharedContextSettings>;
  sleep?: (ms: number) => Promise<void>;
  /** Told when the cache failed and the incident read for itself (a log line; never a failure). */
  onCacheError?: (error: unknown) => void;
}

export type ServiceRun = ProviderRun<ServiceSources>;
/**
 * How long the caller can still wait for another incident's read (ms), so that it can then read for itself in time:
 * the wait ends at `waitMs` or at this, whichever comes first.
 */
export type WaitAllowance = () => number;
/** Reads the named sources from PagerDuty (the providers of lib/context/pagerduty). */
export type ReadServiceSources = (sources: readonly ServiceSource[]) => Promise<ServiceRun>;

export interface SharedServiceRun extends ServiceRun {
  /** Set when the incident is one of at least two on its service in the window. */
  burst?: BurstMark;
  /** Where the service-level context came from: shared by another incident, read and shared, or read alone. */
  origin: 'shared' | 'read-and-shared' | 'read';
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The sources the shared context can answer for this incident (on-calls only for the same escalation policy). */
function fromShared(shared: SharedServiceContext, incident: Incident): Partial<ServiceSources> {
  const sameEscalationPolicy = shared.escalationPolicyId === incident.escalation_policy.id;
  return {
    ...(shared.recentIncidents === undefined ? {} : { recentIncidents: shared.recentIncidents }),
    ...(shared.changeEvents === undefined ? {} : { changeEvents: shared.changeEvents }),
    ...(shared.oncalls === undefined || !sameEscalationPolicy ? {} : { oncalls: shared.oncalls }),
  };
}

async function completeFromShared(shared: SharedServiceContext, incident: Incident, read: ReadServiceSources): Promise<ServiceRun> {
  const results = fromShared(shared, incident);
  const missing = SERVICE_SOURCES.filter((source) => results[source] === undefined);
  if (missing.length === 0) return { results, unavailable: [] };
  const own = await read(missing);
  return { results: { ...results, ...own.results }, unavailable: own.unavailable };
}

export class SharedServiceContextReader {
  private readonly settings: SharedContextSettings;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: SharedContextDeps) {
    this.settings = { ...DEFAULT_SHARED_CONTEXT_SETTINGS, ...deps.settings };
    this.sleep = deps.sleep ?? defaultSleep;
  }

  async gather(incident: Incident, now: () => Date, read: ReadServiceSources, allowance: WaitAllowance): Promise<SharedServiceRun> {
    const [burst, run] = await Promise.all([this.joinBurst(incident), this.readOrShare(incident, now, read, allowance)]);
    return burst === undefined || burst.count < 2 ? run : { ...run, burst };
  }

  /** The notes of a resolved past incident: shared by another incident, or read by `read` (and then shared). */
  async pastNotes(incidentId: string, now: () => Date, read: () => Promise<string[]>, allowance: WaitAllowance): Promise<string[]> {
    const { cache } = this.deps;
    const found = await this.findOrClaim(
      () => cache.readPastNotes(incidentId, now()),
      (leaseUntil) => cache.claimPastNotes(incidentId, now(), leaseUntil),
      now,
      allowance,
    );
    if (Array.isArray(found)) return found;
    const notes = await read();
    if (found === 'claimed') {
      await this.cacheOrUndefined(() => cache.writePastNotes(incidentId, notes, new Date(now().getTime() + this.settings.windowMs)));
    }
    return notes;
  }

  /**
   * One resource name's CloudTrail lookup over `window`: another incident's when it covers the window, else read. The
   * reader that takes the lease reads up to now, so the incidents of the burst triggered before then find their window
   * inside it; a shared lookup that does not cover the window (an incident triggered later) sends the incident to read
   * its own at once, without waiting. Shared for CHANGE_LOOKUP_FRESH_MS only: a change made during a long storm is
   * seen by the lookups after that.
   */
  async changeLookup(
    key: string,
    window: LookupWindow,
    now: () => Date,
    read: (window: LookupWindow) => Promise<ChangeLookup>,
    allowance: WaitAllowance,
  ): Promise<ChangeLookup> {
    const { cache } = this.deps;
    const covers = (lookup: ChangeLookup): boolean =>
      Date.parse(lookup.start) <= window.start.getTime() && Date.parse(lookup.end) >= window.end.getTime();
    const found = await this.findOrClaim(
      async () => {
        const lookup = await cache.readChangeLookup(key, now());
        return lookup === undefined ? undefined : covers(lookup) ? lookup : 'not-covered';
      },
      (leaseUntil) => cache.claimChangeLookup(key, now(), leaseUntil),
      now,
      allowance,
    );
    if (found === 'alone' || found === 'not-covered') return read(window);
    if (found !== 'claimed') return found;
    const lookup = await read({ start: window.start, end: new Date(Math.max(window.end.getTime(), now().getTime())) });
    await this.cacheOrUndefined(() =>
      cache.writeChangeLookup(key, lookup, new Date(now().getTime() + Math.min(this.settings.windowMs, CHANGE_LOOKUP_FRESH_MS))),
    );
    return lookup;
  }

  private async cacheOrUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      this.deps.onCacheError?.(error);
      return undefined;
    }
  }

  /** Counts the incident into the burst of its service's window (by creation time, so a retry lands in the same one). */
  private async joinBurst(incident: Incident): Promise<BurstMark | undefined> {
    const created = Date.parse(incident.created_at);
    const windowStart = Math.floor(created / this.settings.windowMs) * this.settings.windowMs;
    return this.cacheOrUndefined(() =>
      this.deps.cache.joinBurst(
        incident.service.id,
        new Date(windowStart),
        new Date(created),
        new Date(windowStart + 2 * this.settings.windowMs),
      ),
    );
  }

  private async readOrShare(
    incident: Incident,
    now: () => Date,
    read: ReadServiceSources,
    allowance: WaitAllowance,
  ): Promise<SharedServiceRun> {
    const { cache } = this.deps;
    const serviceId = incident.service.id;
    const found = await this.findOrClaim(
      () => cache.read(serviceId, now()),
      (leaseUntil) => cache.claimRead(serviceId, now(), leaseUntil),
      now,
      allowance,
    );
    if (found === 'claimed') return { ...(await this.readAndShare(incident, now, read)), origin: 'read-and-shared' };
    if (found === 'alone') return { ...(await read(SERVICE_SOURCES)), origin: 'read' };
    return { ...(await completeFromShared(found, incident, read)), origin: 'shared' };
  }

  /**
   * The fresh shared value, the lease to read it, or reading alone: after `waitMs` or the caller's allowance, whichever
   * ends first (near the end of the Lambda's time the incident would otherwise wait past the point where its own read
   * could still finish), or when the cache fails.
   */
  private async findOrClaim<Shared>(
    readShared: () => Promise<Shared | undefined>,
    claim: (leaseUntil: Date) => Promise<boolean>,
    now: () => Date,
    allowance: WaitAllowance,
  ): Promise<Shared | 'claimed' | 'alone'> {
    const giveUpAt = now().getTime() + Math.min(this.settings.waitMs, allowance());
    try {
      for (;;) {
        const shared = await readShared();
        if (shared !== undefined) return shared;
        if (await claim(new Date(now().getTime() + this.settings.leaseMs))) return 'claimed';
        const waitLeft = giveUpAt - now().getTime();
        if (waitLeft <= 0) return 'alone';
        await this.sleep(Math.min(this.settings.pollMs, waitLeft));
      }
    } catch (error) {
      this.deps.onCacheError?.(error);
      return 'alone';
    }
  }

  private async readAndShare(incident: Incident, now: () => Date, read: ReadServiceSources): Promise<ServiceRun> {
    const readAt = now();
    // PagerDuty's own failure (throttling, budget) stops the run as without sharing; the lease then lapses.
    const run = await read(SERVICE_SOURCES);
    const { recentIncidents, changeEvents, oncalls } = run.results;
    const shared: SharedServiceContext = {
      readAt: readAt.toISOString(),
      escalationPolicyId: incident.escalation_policy.id,
      recentIncidents,
      changeEvents,
      oncalls,
    };
    await this.cacheOrUndefined(() =>
      this.deps.cache.write(incident.service.id, shared, new Date(readAt.getTime() + this.settings.windowMs)),
    );
    return run;
  }
}

/** The reader for `context.sharedSeconds` of AGENT_CONFIG; undefined when sharing is off (0). */
export function sharedContextReader(
  sharedSeconds: number,
  cache: ServiceContextCachePort,
  onCacheError?: (error: unknown) => void,
): SharedServiceContextReader | undefined {
  return sharedSeconds === 0
    ? undefined
    : new SharedServiceContextReader({ cache, settings: { windowMs: sharedSeconds * 1000 }, onCacheError });
}
