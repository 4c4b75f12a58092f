import { createHmac, randomUUID } from 'node:crypto';

/**
 * PagerDuty-like V3 webhook delivery: one HTTP POST per event and destination, signed with the destination's
 * secret(s) (`x-pagerduty-signature: v1=<hex>[,v1=<hex>]`), in order per destination and incident, retried on
 * timeouts, connection errors, 5xx and 429 (same `x-webhook-id` on every attempt), dropped on other 4xx, and the
 * destination temporarily disabled after 3 consecutive drops (DD-BEH).
 */

export interface WebhookDestination {
  /** The subscription id sent as `x-webhook-subscription`. */
  subscriptionId: string;
  url: string;
  /** Every secret signs the body; more than one emulates a secret rotation. */
  secrets: string[];
  temporarilyDisabled: boolean;
}

export interface WebhookEnvelope {
  event: {
    id: string;
    event_type: string;
    resource_type: string;
    occurred_at: string;
    agent: Record<string, unknown> | null;
    client: { name: string } | null;
    data: Record<string, unknown>;
  };
}

export interface DeliveryAttempt {
  status: number | null;
  error?: string;
}

export interface DeliveryRecord {
  webhookId: string;
  eventId: string;
  eventType: string;
  incidentId: string | null;
  subscriptionId: string;
  url: string;
  attempts: DeliveryAttempt[];
  outcome: 'pending' | 'delivered' | 'dropped' | 'discarded';
}

export interface DeliveryOptions {
  /** PagerDuty waits 5 s for a 2xx. */
  timeoutMs: number;
  /** Attempts per delivery, the first included. PagerDuty retries for up to 48 h; the sandbox keeps it short. */
  maxAttempts: number;
  /** Backoff before retry n is `retryBackoffMs * 2^(n-1)`. */
  retryBackoffMs: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = { timeoutMs: 5_000, maxAttempts: 4, retryBackoffMs: 50 };
const DROPS_BEFORE_DISABLE = 3;

export function signWebhookBody(body: string, secrets: string[]): string {
  return secrets.map((secret) => `v1=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`).join(',');
}

export class UnknownWebhookEventError extends Error {
  override readonly name = 'UnknownWebhookEventError';
  constructor(readonly eventId: string) {
    super(`No webhook event ${eventId} was emitted by this sandbox: pick an event id from sandbox.deliveries().`);
  }
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class WebhookDelivery {
  readonly records: DeliveryRecord[] = [];
  private readonly chains = new Map<string, Promise<void>>();
  private readonly consecutiveDrops = new Map<string, number>();
  private readonly sentEnvelopes = new Map<string, { body: string; incidentId: string | null; destinations: WebhookDestination[] }>();

  constructor(
    private readonly options: DeliveryOptions,
    private readonly onDisabled: (destination: WebhookDestination) => void,
  ) {}

  /** Queues the event behind earlier ones for the same destination and incident. */
  enqueue(envelope: WebhookEnvelope, incidentId: string | null, destinations: WebhookDestination[]): void {
    const body = JSON.stringify(envelope);
    this.sentEnvelopes.set(envelope.event.id, { body, incidentId, destinations });
    for (const destination of destinations) {
      if (destination.temporarilyDisabled) continue;
      this.schedule(destination, body, envelope, incidentId, randomUUID());
    }
  }

  /** Sends an event already emitted again, as PagerDuty's at-least-once delivery may; a new `x-webhook-id` unless asked. */
  redeliver(eventId: string, options: { sameWebhookId?: boolean } = {}): void {
    const sent = this.sentEnvelopes.get(eventId);
    if (sent === undefined) throw new UnknownWebhookEventError(eventId);
    const envelope = JSON.parse(sent.body) as WebhookEnvelope;
    for (const destination of sent.destinations) {
      const previous = this.records.find((record) => record.eventId === eventId && record.subscriptionId === destination.subscriptionId);
      const webhookId = options.sameWebhookId === true && previous !== undefined ? previous.webhookId : randomUUID();
      this.schedule(destination, sent.body, envelope, sent.incidentId, webhookId);
    }
  }

  /** Resolves once every queued delivery (including retries) has finished. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.chains.values()];
      await Promise.all(pending);
      if ([...this.chains.values()].every((chain) => pending.includes(chain))) return;
    }
  }

  private schedule(
    destination: WebhookDestination,
    body: string,
    envelope: WebhookEnvelope,
    incidentId: string | null,
    webhookId: string,
  ): void {
    const record: DeliveryRecord = {
      webhookId,
      eventId: envelope.event.id,
      eventType: envelope.event.event_type,
      incidentId,
      subscriptionId: destination.subscriptionId,
      url: destination.url,
      attempts: [],
      outcome: 'pending',
    };
    this.records.push(record);
    const key = `${destination.subscriptionId}|${incidentId ?? envelope.event.id}`;
    const chain = (this.chains.get(key) ?? Promise.resolve()).then(() => this.deliver(destination, body, record));
    this.chains.set(key, chain);
  }

  private async deliver(destination: WebhookDestination, body: string, record: DeliveryRecord): Promise<void> {
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt += 1) {
      if (destination.temporarilyDisabled) {
        record.outcome = 'discarded';
        return;
      }
      if (attempt > 1) await wait(this.options.retryBackoffMs * 2 ** (attempt - 2));
      const result = await this.post(destination, body, record.webhookId);
      record.attempts.push(result);
      if (result.status !== null && result.status >= 200 && result.status < 300) {
        record.outcome = 'delivered';
        this.consecutiveDrops.set(destination.subscriptionId, 0);
        return;
      }
      const retryable = result.status === null || result.status === 429 || result.status >= 500;
      if (!retryable) break;
    }
    record.outcome = 'dropped';
    const drops = (this.consecutiveDrops.get(destination.subscriptionId) ?? 0) + 1;
    this.consecutiveDrops.set(destination.subscriptionId, drops);
    if (drops >= DROPS_BEFORE_DISABLE && !destination.temporarilyDisabled) {
      destination.temporarilyDisabled = true;
      this.onDisabled(destination);
    }
  }

  private async post(destination: WebhookDestination, body: string, webhookId: string): Promise<DeliveryAttempt> {
    try {
      const response = await fetch(destination.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'PagerDuty-Webhook/V3.0',
          'x-webhook-id': webhookId,
          'x-webhook-subscription': destination.subscriptionId,
          'x-pagerduty-signature': signWebhookBody(body, destination.secrets),
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.arrayBuffer();
      return { status: response.status };
    } catch (error) {
      return { status: null, error: (error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message };
    }
  }
}
