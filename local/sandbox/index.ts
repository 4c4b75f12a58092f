import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Note, WebhookSubscription } from '../../lib/pagerduty/types';
import {
  AccountState,
  SandboxRefusal,
  type IncidentChange,
  type SandboxSeed,
  type SeedUser,
  type StoredIncident,
  type TriggerIncidentInput,
} from './account-state';
import { DEFAULT_SANDBOX_SEED, SANDBOX_API_TOKEN } from './default-account';
import { handleEventsApi, type ReceivedEvent } from './events-api';
import { runDueTimers } from './escalation-timers';
import { FaultInjector, type Fault } from './faults';
import type { RefusedWrite } from './refusals';
import { OAuthTokens, type SandboxOAuthClient } from './oauth-tokens';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitDecision, type RateLimitOptions } from './rate-limiter';
import { restRoutes, type Route } from './rest-routes';
import { sandboxRoutes } from './sandbox-routes';
import { DEFAULT_DELIVERY_OPTIONS, WebhookDelivery, type DeliveryOptions, type DeliveryRecord } from './webhook-delivery';
import { incidentEnvelope, pingEnvelope } from './webhook-events';
import { WebhookSubscriptions } from './webhook-subscriptions';
import { text } from 'node:stream/consumers';

export * from './default-account';
export { NO_FAULT, type Fault } from './faults';
export type { RefusedWrite } from './refusals';
export type { DeliveryRecord, WebhookEnvelope } from './webhook-delivery';
export type { ReceivedEvent } from './events-api';
export type { SandboxSeed, StoredIncident, TriggerIncidentInput, IncidentChange } from './account-state';
export { signWebhookBody } from './webhook-delivery';

export interface SandboxOptions {
  /** 0 (default) picks a free port. The server listens on 127.0.0.1 only. */
  port?: number;
  /** Replaces the default account (`DEFAULT_SANDBOX_SEED`). */
  seed?: SandboxSeed;
  /** Accepted REST API keys (`Authorization: Token token=<key>`). Default: `[SANDBOX_API_TOKEN]`. */
  apiTokens?: string[];
  oauthClients?: SandboxOAuthClient[];
  /** The account subdomain OAuth scopes must name (`as_account-us.<subdomain>`). */
  subdomain?: string;
  oauthTokenTtlSeconds?: number;
  rateLimit?: Partial<RateLimitOptions>;
  /** Seed of the PRNG behind probabilistic faults. */
  faultSeed?: number;
  abilities?: string[];
  repeatedStatusAnswer?: 'ok' | 'error';
  /** Every incident event is also delivered here, signed with these secrets, like an account-wide subscription. */
  webhookTarget?: { url: string; secrets: string[]; subscriptionId?: string };
  webhookDelivery?: Partial<DeliveryOptions>;
  /** The sandbox's clock starts here (default: now); it moves with real time and with `advanceTime`. */
  startTime?: Date;
}

export interface RequestLogEntry {
  seq: number;
  at: string;
  method: string;
  /** The OpenAPI route, e.g. `PUT /incidents/{id}`; the raw path for unknown routes. */
  route: string;
  path: string;
  /** 0 when the connection was dropped before an answer. */
  status: number;
  incidentId: string | null;
  fault: boolean;
  credential: 'api-key' | 'oauth' | 'none';
  /** Which REST API key authenticated the request (`addApiToken`'s id; the initial keys are PKEY1, PKEY2… in order). */
  apiTokenId: string | null;
}

/** One incident change as PagerDuty's log entries record it: what happened, who caused it, the webhook event emitted. */
export interface IncidentHistoryEntry {
  seq: number;
  at: string;
  incidentId: string;
  eventType: IncidentChange['eventType'];
  /** The user (or the service, for an integration's trigger) that caused it. */
  agentId: string;
  eventId: string;
}

/** `reopenAs` on an incident that is not resolved: PagerDuty reopens only resolved incidents. */
export class NotResolvedError extends Error {
  override readonly name = 'NotResolvedError';
  constructor(
    readonly incidentId: string,
    readonly status: string,
  ) {
    super(`Incident ${incidentId} is ${status}, not resolved, so it cannot be reopened: resolve it first (resolveAs), then reopen it.`);
  }
}

export interface RawDelivery {
  body: string;
  /** The exact `x-pagerduty-signature` value to send (forged, or signed with `signWebhookBody`). */
  signature: string;
  url?: string;
  subscriptionId?: string;
  webhookId?: string;
}

export interface Sandbox {
  /** REST API base URL (`PAGERDUTY_API_URL`). */
  readonly apiUrl: string;
  /** Events API base URL (`PAGERDUTY_EVENTS_URL`). */
  readonly eventsUrl: string;
  /** OAuth token endpoint for `authFromSecret(…, { tokenUrl })`. */
  readonly tokenUrl: string;
  readonly faults: {
    /** With `incidentId`, only that incident's calls of the route get the scripted faults. */
    script(route: string, faults: Fault[], incidentId?: string): void;
    probability(route: string, probability: number, fault: Fault): void;
    clear(): void;
  };
  seed(seed: SandboxSeed): void;
  triggerIncident(input: TriggerIncidentInput): StoredIncident;
  /** A human acts in the web UI: the webhook's agent is that user. */
  acknowledgeAs(incidentId: string, userId: string): StoredIncident;
  /**
   * A human resolves; with `resolutionNote`, as the web UI's "Resolve" with a note does: the note is added first
   * (webhook `incident.annotated`), then the incident resolves (`incident.resolved`).
   */
  resolveAs(incidentId: string, userId: string, options?: { resolutionNote?: string }): StoredIncident;
  /** A human reopens a resolved incident (status back to triggered: webhook `incident.reopened`). */
  reopenAs(incidentId: string, userId: string): StoredIncident;
  /** Every alert of the incident resolves and the incident stays open (no webhook: alert changes emit none). */
  clearAlerts(incidentId: string): void;
  addNoteAs(incidentId: string, userId: string, content: string): Note;
  incident(incidentId: string): StoredIncident;
  incidents(): StoredIncident[];
  notes(incidentId: string): Note[];
  /** Each acknowledgement ever recorded on the incident, in order. */
  acknowledgements(incidentId: string): { at: string; acknowledger: { id: string } }[];
  requests(filter?: { incidentId?: string; route?: string; method?: string }): RequestLogEntry[];
  /** Every incident change in the order it happened, whoever caused it; independent of webhook delivery. */
  history(filter?: { incidentId?: string }): IncidentHistoryEntry[];
  deliveries(filter?: { incidentId?: string; eventType?: string }): DeliveryRecord[];
  receivedEvents(): ReceivedEvent[];
  subscriptions(): WebhookSubscription[];
  /** Delivers an emitted event again (PagerDuty's at-least-once); a new `x-webhook-id` unless `sameWebhookId`. */
  redeliver(eventId: string, options?: { sameWebhookId?: boolean }): void;
  /** Sends a raw body with the given signature once (forged or hand-signed deliveries); returns the HTTP status. */
  deliverRaw(delivery: RawDelivery): Promise<number>;
  /** An account admin creates another REST API key in PagerDuty: it is accepted from now on. Returns the key's id. */
  addApiToken(token: string): string;
  /** An account admin deletes a REST API key: the next call with it gets 401. */
  revokeApiToken(token: string): void;
  /** Invalidates every OAuth token issued so far (the next call with one gets 401). */
  revokeOAuthTokens(): void;
  oauthTokensIssued(): number;
  /** Resolves once every queued webhook delivery, retries included, has finished. */
  settled(): Promise<void>;
  /** The sandbox's clock: real time moved by every `advanceTime`. */
  now(): Date;
  /**
   * Moves the clock ahead without waiting and fires, in order, what PagerDuty's timers would have in that time:
   * escalations of unacknowledged incidents (each level's `escalationDelayInMinutes`) and acknowledgement timeouts
   * (the service's `acknowledgementTimeoutSeconds`), each with its webhook. Timers also fire when a request comes in.
   */
  advanceTime(ms: number): void;
  /** PagerDuty refuses escalations (400/1006) or direct assignments (403/2010), for all incidents or one, until `allow`. */
  refuse(kind: RefusedWrite, incidentId?: string): void;
  allow(kind: RefusedWrite, incidentId?: string): void;
  /** The level of its escalation policy paging the incident now (PagerDuty's REST Incident does not show it). */
  escalationLevel(incidentId: string): number;
  /**
   * Resolves once no API request is being handled. A request whose client hung up (an aborted request) ends at once,
   * even inside injected latency, so after `idle()` the request log holds every request a client got to send.
   */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

const compile = (route: Route): CompiledRoute => {
  const names: string[] = [];
  const source = route.pattern.replace(/\{(\w+)\}/g, (_match, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, regex: new RegExp(`^${source}$`), names };
};

/** Waits `ms`, or less if the client hangs up first (as PagerDuty's servers stop working on an aborted request). */
const pauseUnlessAborted = (ms: number, response: ServerResponse) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    response.once('close', done);
    function done() {
      clearTimeout(timer);
      response.off('close', done);
      resolve();
    }
  });

const errorBody = (code: number, message: string, details: string[] = []) => ({
  error: { message, code, ...(details.length > 0 ? { errors: details } : {}) },
});

/**
 * Starts a stateful PagerDuty on 127.0.0.1: the REST API v2 parts the agent uses (OpenAPI shapes), the OAuth token
 * endpoint, the Events API v2, webhook subscriptions, and signed V3 webhooks for every incident change, including
 * the changes API clients make. Rate limits, `From` and auth are enforced as PagerDuty does; faults can be injected.
 * Routes under `/sandbox/` (`sandbox-routes.ts`) exist only here.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const subdomain = options.subdomain ?? 'sandbox';
  // Key → id, so the request log can say which key was used without holding the key itself.
  const apiTokens = new Map<string, string>();
  let apiTokenCount = 0;
  const addApiToken = (token: string): string => {
    const known = apiTokens.get(token);
    if (known !== undefined) return known;
    apiTokenCount += 1;
    const id = `PKEY${apiTokenCount}`;
    apiTokens.set(token, id);
    return id;
  };
  for (const token of options.apiTokens ?? [SANDBOX_API_TOKEN]) addApiToken(token);
  const oauth = new OAuthTokens(options.oauthClients ?? [], subdomain, options.oauthTokenTtlSeconds ?? 3600);
  const limiter = new RateLimiter({ ...DEFAULT_RATE_LIMIT, ...options.rateLimit });
  const faults = new FaultInjector(options.faultSeed ?? 1);
  const log: RequestLogEntry[] = [];
  const receivedEvents: ReceivedEvent[] = [];
  const subscriptions = new WebhookSubscriptions(
    options.webhookTarget === undefined
      ? null
      : {
          url: options.webhookTarget.url,
          secrets: options.webhookTarget.secrets,
          subscriptionId: options.webhookTarget.subscriptionId ?? 'PSANDBOX',
        },
  );
  const delivery = new WebhookDelivery({ ...DEFAULT_DELIVERY_OPTIONS, ...options.webhookDelivery }, (destination) =>
    subscriptions.markDisabled(destination),
  );

  const history: IncidentHistoryEntry[] = [];
  const emit = (change: IncidentChange) => {
    const envelope = incidentEnvelope(change, new Date().toISOString());
    history.push({
      seq: history.length + 1,
      at: envelope.event.occurred_at,
      incidentId: change.incident.id,
      eventType: change.eventType,
      agentId: change.agent.id,
      eventId: envelope.event.id,
    });
    delivery.enqueue(envelope, change.incident.id, subscriptions.destinationsFor(change.eventType, change.incident));
  };
  const clockOffsetMs = (options.startTime?.getTime() ?? Date.now()) - Date.now();
  let advancedMs = 0;
  const now = () => new Date(Date.now() + clockOffsetMs + advancedMs);
  const state = new AccountState(baseUrl, `https://${subdomain}.pagerduty.com`, emit, now);
  state.seed(options.seed ?? DEFAULT_SANDBOX_SEED);

  const routes = [
    ...restRoutes({
      state,
      subscriptions,
      abilities: options.abilities ?? ['teams', 'read_only_users', 'coordinated_responding', 'event_intelligence'],
      repeatedStatusAnswer: options.repeatedStatusAnswer ?? 'ok',
      ping: (subscriptionId) =>
        delivery.enqueue(pingEnvelope(new Date().toISOString()), null, [subscriptions.pingDestination(subscriptionId)]),
    }),
    ...sandboxRoutes(state),
  ].map(compile);

  const authenticate = (
    header: string | undefined,
  ): { credential: string; kind: 'api-key' | 'oauth'; apiTokenId: string | null; scopes: Set<string> | null } | null => {
    const apiKey = /^Token token=(.+)$/.exec(header ?? '')?.[1];
    const apiTokenId = apiKey === undefined ? undefined : apiTokens.get(apiKey);
    if (apiTokenId !== undefined) return { credential: header as string, kind: 'api-key', apiTokenId, scopes: null };
    const bearer = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    const issued = bearer === undefined ? null : oauth.lookup(bearer);
    if (issued !== null) return { credential: header as string, kind: 'oauth', apiTokenId: null, scopes: issued.scopes };
    return null;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    runDueTimers(state, now());
    const url = new URL(request.url ?? '/', baseUrl);
    const method = request.method ?? 'GET';
    const rawBody = await text(request);
    const entry: RequestLogEntry = {
      seq: log.length + 1,
      at: new Date().toISOString(),
      method,
      route: `${method} ${url.pathname}`,
      path: url.pathname,
      status: 0,
      incidentId: null,
      fault: false,
      credential: 'none',
      apiTokenId: null,
    };
    log.push(entry);
    let rateLimit: RateLimitDecision | null = null;

    const answer = (status: number, body?: unknown) => {
      entry.status = status;
      const headers: Record<string, string> = { 'x-request-id': randomUUID() };
      if (rateLimit !== null) {
        headers['ratelimit-limit'] = String(rateLimit.limit);
        headers['ratelimit-remaining'] = String(rateLimit.remaining);
        headers['ratelimit-reset'] = String(rateLimit.resetSeconds);
      }
      if (body === undefined) {
        response.writeHead(status, headers).end();
      } else {
        response.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
      }
    };
    const drop = () => {
      entry.status = 0;
      request.socket.destroy();
    };
    /** Latency first, then a drop before handling or an error answer; returns true when the fault answered. */
    const applyFault = async (fault: Fault | null): Promise<boolean> => {
      if (fault === null || Object.keys(fault).length === 0) return false;
      entry.fault = true;
      if (fault.latencyMs !== undefined) await pauseUnlessAborted(fault.latencyMs, response);
      if (response.destroyed) {
        drop();
        return true;
      }
      if (fault.drop === 'before') {
        drop();
        return true;
      }
      if (fault.status !== undefined) {
        if (fault.status === 429 && rateLimit !== null)
          rateLimit = { ...rateLimit, remaining: 0, resetSeconds: fault.rateLimitResetSeconds ?? rateLimit.resetSeconds };
        const message =
          fault.message ??
          (fault.status === 429 ? 'Rate Limit Exceeded' : fault.status >= 500 ? 'Internal Server Error' : 'Injected fault');
        answer(fault.status, errorBody(fault.errorCode ?? (fault.status === 429 ? 2020 : 2001), message));
        return true;
      }
      return false;
    };

    if (method === 'POST' && url.pathname === '/oauth/token') {
      entry.route = 'POST /oauth/token';
      if (await applyFault(faults.next(entry.route))) return;
      const result = oauth.issue(new URLSearchParams(rawBody));
      return answer(result.status, result.body);
    }
    if (method === 'POST' && url.pathname === '/v2/enqueue') {
      entry.route = 'POST /v2/enqueue';
      if (await applyFault(faults.next(entry.route))) return;
      const result = handleEventsApi(state, receivedEvents, rawBody);
      return answer(result.status, result.body);
    }

    const auth = authenticate(request.headers.authorization);
    rateLimit = limiter.take(auth?.credential ?? 'unauthenticated');
    const match = routes
      .map((route) => ({ route, found: route.method === method ? route.regex.exec(url.pathname) : null }))
      .find((item) => item.found !== null);
    if (match !== undefined) {
      entry.route = `${method} ${match.route.pattern}`;
      if (match.route.pattern.startsWith('/incidents/')) entry.incidentId = decodeURIComponent((match.found as RegExpExecArray)[1]);
    }
    if (auth === null)
      return answer(
        401,
        errorBody(2006, 'Unauthorized', ['The Authorization header must be "Token token=<REST API key>" or "Bearer <OAuth token>"']),
      );
    entry.credential = auth.kind;
    entry.apiTokenId = auth.apiTokenId;
    if (!rateLimit.allowed) return answer(429, errorBody(2020, 'Rate Limit Exceeded'));
    if (match === undefined) return answer(404, errorBody(2100, 'Not Found', [`No sandbox route for ${method} ${url.pathname}`]));
    if (auth.scopes !== null && !auth.scopes.has(match.route.scope)) {
      return answer(403, errorBody(2010, 'Access Denied', [`The OAuth token lacks the ${match.route.scope} scope`]));
    }
    const fault = faults.next(entry.route, entry.incidentId ?? undefined);
    if (await applyFault(fault)) return;

    let body: unknown = null;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        return answer(400, errorBody(2001, 'Invalid Input Provided', ['The request body is not JSON']));
      }
    }
    const params = Object.fromEntries(
      match.route.names.map((name, index) => [name, decodeURIComponent((match.found as RegExpExecArray)[index + 1])]),
    );
    const fromUser = (): SeedUser => {
      const from = request.headers.from;
      if (from === undefined || from === '') {
        throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', [
          'You must specify a user\'s email address in the "From" header to perform this action',
        ]);
      }
      const user = state.userByEmail(from);
      if (user === undefined)
        throw new SandboxRefusal(400, 1008, 'Requester User Not Found', [`No user with the email in the From header`]);
      return user;
    };
    try {
      const result = match.route.handle({ params, query: url.searchParams, body, fromUser });
      if (fault?.drop === 'after') return drop();
      return answer(result.status, result.body);
    } catch (error) {
      if (error instanceof SandboxRefusal) return answer(error.status, errorBody(error.code, error.pagerDutyMessage, error.details));
      throw error;
    }
  };

  const inFlight = new Set<Promise<void>>();
  server.on('request', (request, response) => {
    const handled = handle(request, response)
      .catch((error: unknown) => {
        if (!response.headersSent)
          response
            .writeHead(500, { 'content-type': 'application/json' })
            .end(JSON.stringify(errorBody(2000, `Sandbox error: ${(error as Error).message}`)));
      })
      .finally(() => inFlight.delete(handled));
    inFlight.add(handled);
  });

  const requireIncident = (incidentId: string) => structuredClone(state.requireIncident(incidentId));

  return {
    apiUrl: baseUrl,
    eventsUrl: baseUrl,
    tokenUrl: `${baseUrl}/oauth/token`,
    faults: {
      script: (route, list, incidentId) => faults.script(route, list, incidentId),
      probability: (route, probability, fault) => faults.probability(route, probability, fault),
      clear: () => faults.clear(),
    },
    seed: (seed) => state.seed(seed),
    triggerIncident: (input) => structuredClone(state.triggerIncident(input)),
    acknowledgeAs: (incidentId, userId) => structuredClone(state.acknowledge(incidentId, userId).incident),
    resolveAs: (incidentId, userId, resolveOptions = {}) => {
      if (resolveOptions.resolutionNote !== undefined && state.requireIncident(incidentId).status !== 'resolved')
        state.addNote(incidentId, userId, resolveOptions.resolutionNote);
      return structuredClone(state.resolve(incidentId, userId).incident);
    },
    reopenAs: (incidentId, userId) => {
      const { status } = state.requireIncident(incidentId);
      if (status !== 'resolved') throw new NotResolvedError(incidentId, status);
      return structuredClone(state.retrigger(incidentId, userId).incident);
    },
    clearAlerts: (incidentId) => state.clearAlerts(incidentId),
    addNoteAs: (incidentId, userId, content) => state.addNote(incidentId, userId, content),
    incident: requireIncident,
    incidents: () => [...state.incidents.values()].map((incident) => structuredClone(incident)),
    notes: (incidentId) => structuredClone(state.notes.get(state.requireIncident(incidentId).id) ?? []),
    acknowledgements: (incidentId) => structuredClone(state.acknowledgementHistory(state.requireIncident(incidentId).id)),
    requests: (filter = {}) =>
      log.filter(
        (item) =>
          (filter.incidentId === undefined || item.incidentId === filter.incidentId) &&
          (filter.route === undefined || item.route === filter.route) &&
          (filter.method === undefined || item.method === filter.method),
      ),
    history: (filter = {}) =>
      history.filter((entry) => filter.incidentId === undefined || entry.incidentId === filter.incidentId).map((entry) => ({ ...entry })),
    deliveries: (filter = {}) =>
      delivery.records.filter(
        (record) =>
          (filter.incidentId === undefined || record.incidentId === filter.incidentId) &&
          (filter.eventType === undefined || record.eventType === filter.eventType),
      ),
    receivedEvents: () => [...receivedEvents],
    subscriptions: () => subscriptions.list(),
    redeliver: (eventId, redeliverOptions) => delivery.redeliver(eventId, redeliverOptions),
    deliverRaw: async (raw) => {
      const target = subscriptions.targetDestination();
      const url = raw.url ?? target?.url;
      if (url === undefined)
        throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', [
          'deliverRaw needs a url, or a webhookTarget configured on the sandbox',
        ]);
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'PagerDuty-Webhook/V3.0',
          'x-webhook-id': raw.webhookId ?? randomUUID(),
          'x-webhook-subscription': raw.subscriptionId ?? target?.subscriptionId ?? 'PSANDBOX',
          'x-pagerduty-signature': raw.signature,
        },
        body: raw.body,
        signal: AbortSignal.timeout(DEFAULT_DELIVERY_OPTIONS.timeoutMs),
      });
      await response.arrayBuffer();
      return response.status;
    },
    addApiToken,
    revokeApiToken: (token) => void apiTokens.delete(token),
    revokeOAuthTokens: () => oauth.revokeAll(),
    oauthTokensIssued: () => oauth.issuedCount,
    settled: () => delivery.settled(),
    now,
    advanceTime: (ms) => {
      advancedMs += ms;
      runDueTimers(state, now());
    },
    refuse: (kind, incidentId) => state.refusals.refuse(kind, incidentId),
    allow: (kind, incidentId) => state.refusals.allow(kind, incidentId),
    escalationLevel: (incidentId) => state.escalationLevel(incidentId),
    idle: async () => {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    stop: async () => {
      await delivery.settled();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
