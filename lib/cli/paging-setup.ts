import { authFromSecret, type AuthProvider } from '../pagerduty/auth';
import { PAGERDUTY_ACCEPT } from '../pagerduty/rest-client';
import { apiError, exchange, parseJsonAnswer } from '../pagerduty/http-exchange';
import type { WebhookSubscription } from '../pagerduty/types';
import type { AgentSecret } from '../secrets/agent-secret';
import type { StackTarget } from './stack-target';

/** How PagerDuty pages for one service, as far as the agent's acknowledgement depends on it. */
export interface ServicePagingSetup {
  serviceId: string;
  serviceName: string;
  policyId: string;
  policyName: string;
  /** Level 1 of the escalation policy targets the agent's user (directly, or as the on-call of a level-1 schedule). */
  agentFirst: boolean;
  /** Who level 1 pages, as PagerDuty names them. */
  firstLevel: string[];
  /** Minutes before an unacknowledged incident leaves level 1. */
  firstLevelDelayMinutes: number | null;
  /** Seconds after which an acknowledged incident triggers again; null when the service has none. */
  acknowledgementTimeoutSeconds: number | null;
}

interface RawReference {
  id: string;
  type: string;
  summary?: string;
}

interface RawService {
  id: string;
  name?: string;
  summary?: string;
  escalation_policy: RawReference;
  acknowledgement_timeout?: number | null;
}

interface RawEscalationPolicy {
  id: string;
  name?: string;
  summary?: string;
  escalation_rules: { escalation_delay_in_minutes?: number; targets: RawReference[] }[];
}

/** At most this many services are examined for an account-wide subscription: doctor is a check, not an inventory. */
export const MAX_SERVICES_EXAMINED = 100;

/**
 * The REST reads behind "who does PagerDuty page first": services, escalation policies and level-1 on-calls. Read-only
 * and outside the agent's own client, which has no business reading policies.
 */
export class PagingSetupReader {
  private readonly auth: AuthProvider;
  private readonly apiUrl: string;
  /** Services often share a policy: each is read once per reader. */
  private readonly policies = new Map<string, Promise<RawEscalationPolicy>>();

  constructor(
    target: Pick<StackTarget, 'pagerDutyApiUrl' | 'secretId'>,
    private readonly secret: AgentSecret,
  ) {
    this.apiUrl = target.pagerDutyApiUrl.replace(/\/+$/, '');
    this.auth = authFromSecret(secret, { apiUrl: this.apiUrl, secretId: target.secretId });
  }

  private async get<T>(operation: string, path: string, query: [string, string][] = []): Promise<T> {
    const search = new URLSearchParams(query).toString();
    const answer = await exchange(
      operation,
      fetch,
      `${this.apiUrl}${path}${search === '' ? '' : `?${search}`}`,
      { method: 'GET', headers: { Accept: PAGERDUTY_ACCEPT, Authorization: await this.auth.authorization() } },
      10_000,
    );
    if (!answer.ok) throw apiError(operation, answer);
    return parseJsonAnswer<T>(operation, answer);
  }

  /** The services a subscription covers: the one it names, its team's, or (account-wide) the first MAX_SERVICES_EXAMINED. */
  async servicesInScope(filter: WebhookSubscription['filter']): Promise<string[]> {
    if (filter.type === 'service_reference' && filter.id !== undefined) return [filter.id];
    const query: [string, string][] = [['limit', String(MAX_SERVICES_EXAMINED)]];
    if (filter.type === 'team_reference' && filter.id !== undefined) query.push(['team_ids[]', filter.id]);
    const answer = await this.get<{ services: RawService[] }>('listServices', '/services', query);
    return answer.services.map((service) => service.id);
  }

  private async policy(policyId: string): Promise<RawEscalationPolicy> {
    let read = this.policies.get(policyId);
    if (read === undefined) {
      read = this.get<{ escalation_policy: RawEscalationPolicy }>(
        'getEscalationPolicy',
        `/escalation_policies/${encodeURIComponent(policyId)}`,
      ).then((answer) => answer.escalation_policy);
      this.policies.set(policyId, read);
    }
    return read;
  }

  async setupOf(serviceId: string): Promise<ServicePagingSetup> {
    const { service } = await this.get<{ service: RawService }>('getService', `/services/${encodeURIComponent(serviceId)}`);
    const policyId = service.escalation_policy.id;
    const policy = await this.policy(policyId);
    const first = policy.escalation_rules[0];
    const targets = first?.targets ?? [];
    let agentFirst = targets.some((target) => target.type === 'user_reference' && target.id === this.secret.botUserId);
    if (!agentFirst && targets.some((target) => target.type === 'schedule_reference')) {
      const { oncalls } = await this.get<{ oncalls: { user: RawReference; escalation_level: number }[] }>('listOncalls', '/oncalls', [
        ['escalation_policy_ids[]', policyId],
      ]);
      agentFirst = oncalls.some((oncall) => oncall.escalation_level === 1 && oncall.user.id === this.secret.botUserId);
    }
    return {
      serviceId: service.id,
      serviceName: service.name ?? service.summary ?? service.id,
      policyId,
      policyName: policy.name ?? policy.summary ?? policyId,
      agentFirst,
      firstLevel: targets.map((target) => (target.id === this.secret.botUserId ? 'the agent' : (target.summary ?? target.id))),
      firstLevelDelayMinutes: first?.escalation_delay_in_minutes ?? null,
      acknowledgementTimeoutSeconds: service.acknowledgement_timeout ?? null,
    };
  }
}

/** What the default `acknowledge: agent-first` does with a triggering incident of this service, in one sentence. */
export function acknowledgementOutcome(setup: Pick<ServicePagingSetup, 'agentFirst'>): string {
  return setup.agentFirst
    ? 'PagerDuty pages the agent first: it acknowledges on triage start (silent to the team), notes, and escalates to the people above it when it does not keep the incident'
    : 'PagerDuty pages people first: the agent adds its note and acknowledges only when a rule could keep the incident; PagerDuty keeps paging the people';
}
