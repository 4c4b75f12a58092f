import { randomBytes } from 'node:crypto';
import type { WebhookSubscription } from '../../lib/pagerduty/types';
import { randomId, SandboxRefusal, type IncidentEventType, type StoredIncident } from './account-state';
import type { WebhookDestination } from './webhook-delivery';

interface StoredSubscription {
  subscription: Omit<WebhookSubscription, 'delivery_method'> & {
    delivery_method: Omit<WebhookSubscription['delivery_method'], 'secret'> & { id: string };
  };
  destination: WebhookDestination;
}

export interface ConfiguredTarget {
  url: string;
  secrets: string[];
  subscriptionId: string;
}

/** What the configured target receives: every incident event the sandbox emits. */
const TARGET_EVENTS: IncidentEventType[] = [
  'incident.triggered',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.annotated',
  'incident.delegated',
  'incident.escalated',
  'incident.reassigned',
  'incident.resolved',
  'incident.reopened',
];

/**
 * V3 webhook subscriptions as the OpenAPI document describes them. The signing secret is generated on create and
 * returned in that answer only (`delivery_method.secret` is null ever after). A configured target (the local stack's
 * ingress URL and the secret it was given) is an account-wide subscription to every incident event, listed like any
 * other, so `pd-agent doctor --local` finds the local stack's subscription on a fresh start.
 */
export class WebhookSubscriptions {
  private readonly stored = new Map<string, StoredSubscription>();
  private readonly target: WebhookDestination | null;

  constructor(target: ConfiguredTarget | null) {
    this.target =
      target === null
        ? null
        : { subscriptionId: target.subscriptionId, url: target.url, secrets: target.secrets, temporarilyDisabled: false };
    if (this.target !== null) {
      this.stored.set(this.target.subscriptionId, {
        subscription: {
          id: this.target.subscriptionId,
          type: 'webhook_subscription',
          active: true,
          description: 'the local stack (configured target)',
          events: TARGET_EVENTS,
          filter: { type: 'account_reference' },
          delivery_method: {
            id: randomId('P', 6),
            type: 'http_delivery_method',
            url: this.target.url,
            temporarily_disabled: false,
            custom_headers: [],
          },
        },
        destination: this.target,
      });
    }
  }

  create(input: unknown): WebhookSubscription {
    const request = (input as { webhook_subscription?: Record<string, unknown> } | null)?.webhook_subscription;
    const delivery = request?.delivery_method as
      { type?: unknown; url?: unknown; custom_headers?: { name: string; value: string }[] } | undefined;
    const filter = request?.filter as WebhookSubscription['filter'] | undefined;
    const events = request?.events;
    const problems: string[] = [];
    if (request?.type !== 'webhook_subscription') problems.push('webhook_subscription.type must be "webhook_subscription"');
    if (delivery?.type !== 'http_delivery_method' || typeof delivery.url !== 'string' || !/^https?:\/\//.test(delivery.url)) {
      problems.push('delivery_method must be an http_delivery_method with a url');
    }
    if (!Array.isArray(events) || events.length === 0 || !events.every((event) => typeof event === 'string'))
      problems.push('events must list at least one event type');
    if (
      filter === undefined ||
      !['account_reference', 'service_reference', 'team_reference'].includes(filter.type) ||
      (filter.type !== 'account_reference' && typeof filter.id !== 'string')
    ) {
      problems.push('filter must be an account_reference, or a service_reference/team_reference with an id');
    }
    if (problems.length > 0) throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', problems);
    const id = randomId('P', 6);
    const secret = randomBytes(48).toString('base64');
    const url = delivery?.url as string;
    const subscription: StoredSubscription['subscription'] = {
      id,
      type: 'webhook_subscription',
      active: request?.active !== false,
      description: typeof request?.description === 'string' ? request.description : undefined,
      events: events as string[],
      filter: filter as WebhookSubscription['filter'],
      delivery_method: {
        id: randomId('P', 6),
        type: 'http_delivery_method',
        url,
        temporarily_disabled: false,
        custom_headers: delivery?.custom_headers ?? [],
      },
    };
    this.stored.set(id, { subscription, destination: { subscriptionId: id, url, secrets: [secret], temporarilyDisabled: false } });
    return this.render(subscription, secret);
  }

  list(): WebhookSubscription[] {
    return [...this.stored.values()].map((item) => this.render(item.subscription, null));
  }

  get(id: string): WebhookSubscription {
    return this.render(this.require(id).subscription, null);
  }

  /**
   * `PUT /webhook_subscriptions/{id}`: `active`, `events`, `description` and `filter` may change; `delivery_method`
   * (URL, secret) cannot, as PagerDuty documents. An inactive subscription gets no deliveries.
   */
  update(id: string, input: unknown): WebhookSubscription {
    const item = this.require(id);
    const request = (input as { webhook_subscription?: Record<string, unknown> } | null)?.webhook_subscription;
    const problems: string[] = [];
    if (request === undefined || request === null || typeof request !== 'object') problems.push('webhook_subscription is required');
    if (request?.delivery_method !== undefined) problems.push('delivery_method cannot be updated');
    if (request?.active !== undefined && typeof request.active !== 'boolean') problems.push('active must be a boolean');
    const events = request?.events;
    if (events !== undefined && (!Array.isArray(events) || events.length === 0 || !events.every((event) => typeof event === 'string')))
      problems.push('events must list at least one event type');
    if (problems.length > 0) throw new SandboxRefusal(400, 2001, 'Invalid Input Provided', problems);
    const subscription = item.subscription;
    if (typeof request?.active === 'boolean') subscription.active = request.active;
    if (events !== undefined) subscription.events = events as string[];
    if (typeof request?.description === 'string') subscription.description = request.description;
    if (request?.filter !== undefined) subscription.filter = request.filter as WebhookSubscription['filter'];
    return this.get(id);
  }

  delete(id: string): void {
    const item = this.require(id);
    // Deliveries already queued for it are discarded.
    item.destination.temporarilyDisabled = true;
    this.stored.delete(id);
  }

  enable(id: string): WebhookSubscription {
    const item = this.require(id);
    item.destination.temporarilyDisabled = false;
    item.subscription.delivery_method.temporarily_disabled = false;
    return this.get(id);
  }

  pingDestination(id: string): WebhookDestination {
    return this.require(id).destination;
  }

  /** Called by the delivery engine after 3 consecutive drops. */
  markDisabled(destination: WebhookDestination): void {
    const item = this.stored.get(destination.subscriptionId);
    if (item !== undefined) item.subscription.delivery_method.temporarily_disabled = true;
  }

  /** Every live destination interested in this incident event. */
  destinationsFor(eventType: string, incident: StoredIncident): WebhookDestination[] {
    const matching = [...this.stored.values()]
      .filter(
        ({ subscription, destination }) =>
          subscription.active && !destination.temporarilyDisabled && subscription.events.includes(eventType),
      )
      .filter(({ subscription: { filter } }) => {
        if (filter.type === 'account_reference') return true;
        if (filter.type === 'service_reference') return filter.id === incident.service.id;
        return incident.teams.some((team) => team.id === filter.id);
      })
      .map(({ destination }) => destination);
    return matching;
  }

  targetDestination(): WebhookDestination | null {
    return this.target;
  }

  private require(id: string): StoredSubscription {
    const item = this.stored.get(id);
    if (item === undefined) throw new SandboxRefusal(404, 2100, 'Not Found', [`Webhook subscription ${id} not found`]);
    return item;
  }

  private render(subscription: StoredSubscription['subscription'], secret: string | null): WebhookSubscription {
    return { ...subscription, delivery_method: { ...subscription.delivery_method, secret } };
  }
}
