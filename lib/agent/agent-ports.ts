import type { AgentConfig } from '../config/agent-config';
import type { EventsApi, PagerDutyApi } from '../pagerduty/types';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { RateLimitPacer } from '../pagerduty/rate-limit-pacer';

/**
 * What the worker and the handback function need from the outside world, as small interfaces: the handlers build
 * them from the environment, the tests from fakes.
 */

/** The PagerDuty side of one environment, built from its secret (re-read when the secret rotates). */
export interface AgentConnection {
  api: PagerDutyApi;
  events: EventsApi;
  /** The agent's own PagerDuty user: events it caused are recorded, never triaged again. */
  botUserId: string;
  /** Events API v2 key for the agent's own health alerts, when the environment has one. */
  eventsRoutingKey?: string;
  /**
   * Events API v2 key of the fallback service: when PagerDuty refuses both the escalation and a direct assignment, an
   * alert there pages its people, so that no incident ends paging only the agent.
   */
  fallbackRoutingKey?: string;
  /** Paces every call made with this credential under PagerDuty's rate limit (one per credential and environment). */
  pacer?: RateLimitPacer;
}

export interface NoteFooter {
  agentName: string;
  env: string;
  /** The short dedup reference the note carries, looked for before any retry. */
  ref: string;
}

/** How notes read; implemented by the triage module's note renderer. */
export interface NoteRenderer {
  hypothesisNote(hypothesis: Hypothesis, context: IncidentContext, footer: NoteFooter): string;
  handbackNote(incidentId: string, reason: string, footer: NoteFooter): string;
  dedupRef(env: string, incidentId: string, triggerEventId: string): string;
  containsRef(content: string, ref: string): boolean;
}

/** Powertools Metrics' `addMetric`, the only part of it the agent calls. */
export interface MetricsSink {
  addMetric(name: string, unit: 'Count' | 'Milliseconds', value: number): void;
}

/** Lambda's clock, as far as the agent cares. */
export interface Invocation {
  remainingTimeMs(): number;
}

export type AgentSettings = Pick<AgentConfig, 'agentName' | 'escalation' | 'triage' | 'rollout' | 'acknowledge' | 'followUp'>;
