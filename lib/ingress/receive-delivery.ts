import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventFilters } from '../config/agent-config';
import { MetricName, type MetricNameValue, type Telemetry } from '../observability/telemetry';
import type { EventQueuePort } from '../queue/event-queue';
import type { WebhookSecretProvider } from '../secrets/secret-source';
import type { EventLedgerPort } from '../state/event-ledger';
import { evaluateFilters } from '../webhook/filters';
import { headerValue, type HeaderMap } from '../webhook/headers';
import { parseWebhookEvent } from '../webhook/parse-event';
import { SIGNATURE_HEADER, verifySignature, type SignatureFailureReason } from '../webhook/signature';

/** PagerDuty drops any webhook over 256 KB, so nothing larger can be a genuine delivery. */
export const MAX_BODY_BYTES = 256 * 1024;

export const WEBHOOK_ID_HEADER = 'x-webhook-id';
export const SUBSCRIPTION_HEADER = 'x-webhook-subscription';
export const PING_EVENT_TYPE = 'pagey.ping';

/** Delivery headers kept with a quarantined body: enough to re-verify and trace it, never credentials. */
const QUARANTINED_HEADERS = ['content-type', 'user-agent', WEBHOOK_ID_HEADER, SUBSCRIPTION_HEADER, SIGNATURE_HEADER];

export interface IngressDeps {
  secrets: WebhookSecretProvider;
  ledger: EventLedgerPort;
  queue: EventQueuePort;
  filters: EventFilters;
  telemetry: Telemetry;
  now?: () => Date;
}

type AnswerBody = { status: string } & Record<string, string | boolean | undefined>;

/** What the ingress answers PagerDuty: a status code (PagerDuty retries 5xx and 429), a JSON body, extra headers. */
export interface IngressAnswer {
  statusCode: number;
  body: AnswerBody;
  headers?: Record<string, string>;
}

/** One webhook delivery as the HTTP front door received it. */
export interface Delivery {
  method: string | undefined;
  path: string | undefined;
  sourceIp: string | undefined;
  headers: HeaderMap | undefined;
  /** The body's exact bytes, or 'too-large' when it is over MAX_BODY_BYTES (checked before decoding it). */
  body: Buffer | 'too-large';
  /** The body as text when it arrived as text: parsed as is, sparing a second UTF-8 decode of the same bytes. */
  text: string | undefined;
}

export type DeliveryReceiver = (delivery: Delivery) => Promise<IngressAnswer>;

const answer = (statusCode: number, body: AnswerBody, headers?: Record<string, string>): IngressAnswer => ({
  statusCode,
  body,
  ...(headers === undefined ? {} : { headers }),
});

const SIGNATURE_REASON_METRIC: Record<SignatureFailureReason, MetricNameValue> = {
  missing: MetricName.signatureMissing,
  malformed: MetricName.signatureMalformed,
  mismatch: MetricName.signatureMismatch,
};

function keptHeaders(headers: HeaderMap | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of QUARANTINED_HEADERS) {
    const value = headerValue(headers, name);
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

/**
 * The ingress use case (API Gateway's framing is in lib/adapters/api-gateway.ts): verifies a PagerDuty V3 delivery on
 * its exact bytes, records it once, enqueues it durably and answers as docs/how-it-works.md "Ingress: what PagerDuty gets back" says.
 * It answers 2xx
 * only for a delivery that is queued, a duplicate of a queued one, or deliberately not taken on (ping, filtered,
 * quarantined); any failure of its dependencies is a 503, so PagerDuty retries.
 */
export function createDeliveryReceiver(deps: IngressDeps): DeliveryReceiver {
  const { logger, metrics } = deps.telemetry;
  const now = deps.now ?? (() => new Date());
  const count = (name: MetricNameValue): void => {
    metrics.addMetric(name, MetricUnit.Count, 1);
  };

  // Delivery identifiers go into each log line rather than through logger.appendKeys: appending and resetting keys
  // per request cost the hot path more than building the few lines a delivery can log.
  type DeliveryKeys = Record<string, string | null>;
  const unavailable = (message: string, keys: DeliveryKeys, error?: unknown): IngressAnswer => {
    count(MetricName.ingressFailure);
    const line = `${message}; answered 503 so PagerDuty retries the delivery`;
    logger.error(line, error === undefined ? keys : { ...keys, error: error as Error });
    return answer(503, { status: 'unavailable' });
  };

  async function handle(delivery: Delivery): Promise<IngressAnswer> {
    const { method } = delivery;
    // PagerDuty only ever POSTs; anything else is not a delivery and cannot be a genuine one answered 4xx.
    if (method !== undefined && method !== 'POST') {
      logger.warn('Request is not a POST: answered 405', { method, path: delivery.path });
      return answer(405, { status: 'method-not-allowed' }, { allow: 'POST' });
    }
    count(MetricName.webhookReceived);
    const { headers } = delivery;
    const webhookId = headerValue(headers, WEBHOOK_ID_HEADER) ?? null;
    const subscriptionId = headerValue(headers, SUBSCRIPTION_HEADER) ?? null;
    const keys: DeliveryKeys = { webhookId, subscriptionId };

    const raw = delivery.body;
    if (raw === 'too-large') {
      count(MetricName.webhookTooLarge);
      logger.warn('Body over the size cap: answered 413', { ...keys, maxBytes: MAX_BODY_BYTES });
      return answer(413, { status: 'too-large' });
    }

    const signature = headerValue(headers, SIGNATURE_HEADER);
    let secrets: readonly string[];
    let check: ReturnType<typeof verifySignature>;
    try {
      secrets = await deps.secrets.getWebhookSecrets();
      check = verifySignature(raw, signature, secrets);
      if (!check.valid && check.reason === 'mismatch') {
        // A secret added moments ago (rotation, new subscription) must work at once; the source rate-limits re-reads.
        secrets = await deps.secrets.getWebhookSecrets({ refresh: true });
        check = verifySignature(raw, signature, secrets);
      }
    } catch (error) {
      return unavailable('Could not read the webhook signing secrets', keys, error);
    }
    if (!check.valid) {
      if (check.reason === 'mismatch' && secrets.length === 0) {
        // Nothing can be verified: a configuration fault, not a forgery. 4xx would make PagerDuty drop genuine pages.
        return unavailable(
          "No webhook signing secret is configured, so no delivery can be verified. Store every live subscription's signing secret with `pd-agent webhook subscribe`",
          keys,
        );
      }
      count(MetricName.signatureInvalid);
      count(SIGNATURE_REASON_METRIC[check.reason]);
      logger.warn('Signature rejected: answered 401', {
        ...keys,
        reason: check.reason,
        sourceIp: delivery.sourceIp,
        userAgent: headerValue(headers, 'user-agent'),
      });
      return answer(401, { status: 'unauthorized', reason: check.reason });
    }

    const parsed = parseWebhookEvent(delivery.text ?? raw);
    if (!parsed.ok) {
      try {
        const sha256 = await deps.ledger.quarantine({
          body: raw,
          headers: keptHeaders(headers),
          reason: parsed.detail,
          receivedAt: now(),
        });
        count(MetricName.webhookQuarantined);
        logger.error('Signed body is not a usable V3 webhook: quarantined for inspection', {
          ...keys,
          reason: parsed.reason,
          detail: parsed.detail,
          quarantineKey: sha256,
          bytes: raw.length,
        });
        return answer(200, { status: 'quarantined', reason: parsed.reason });
      } catch (error) {
        return unavailable('Could not quarantine a signed but unparseable body', keys, error);
      }
    }

    const event = parsed.event;
    Object.assign(keys, { eventId: event.eventId, incidentId: event.incidentId, eventType: event.eventType });
    if (event.eventType === PING_EVENT_TYPE) {
      count(MetricName.webhookIgnored);
      logger.info('Ping received', keys);
      return answer(200, { status: 'ping', eventId: event.eventId });
    }
    const verdict = evaluateFilters(event, deps.filters);
    if (!verdict.pass) {
      count(MetricName.webhookIgnored);
      logger.info('Event filtered out', { ...keys, reason: verdict.reason });
      return answer(200, { status: 'filtered', eventId: event.eventId, reason: verdict.reason });
    }

    const receivedAt = now();
    let redelivery: boolean;
    try {
      const recorded = await deps.ledger.recordReceived({
        eventId: event.eventId,
        eventType: event.eventType,
        incidentId: event.incidentId,
        webhookId,
        subscriptionId,
        receivedAt,
      });
      redelivery = recorded === 'exists';
      if (redelivery && (await deps.ledger.ingressStatus(event.eventId)) === 'enqueued') {
        count(MetricName.webhookDuplicate);
        logger.info('Duplicate delivery of an enqueued event', keys);
        return answer(200, { status: 'duplicate', eventId: event.eventId });
      }
      // Recorded but not known to be enqueued (an earlier enqueue failed or is in flight): send again; the FIFO
      // deduplication id collapses sends that race each other.
      await deps.queue.send({
        version: 1,
        eventId: event.eventId,
        eventType: event.eventType,
        incidentId: event.incidentId,
        rawBodyBase64: raw.toString('base64'),
        webhookId,
        subscriptionId,
        receivedAt: receivedAt.toISOString(),
      });
    } catch (error) {
      return unavailable('Could not record or enqueue the event', keys, error);
    }
    try {
      await deps.ledger.markEnqueued(event.eventId, now());
    } catch (error) {
      // The message is in the queue, so the event is safe; a redelivery will at worst send it again, which the queue
      // (within 5 minutes) or the worker's claim collapses.
      logger.warn('Event enqueued but not marked enqueued in the state table', { ...keys, error: error as Error });
    }
    count(MetricName.webhookEnqueued);
    // The happy path is already traced by the state table's record, the WebhookEnqueued metric and the API access
    // log; at info it would cost every delivery a log line on PagerDuty's 5-second clock. Everything else logs at info+.
    logger.debug('Event enqueued', { ...keys, redelivery });
    return answer(202, { status: 'enqueued', eventId: event.eventId });
  }

  return async (delivery) => {
    try {
      return await handle(delivery);
    } catch (error) {
      return unavailable('Unexpected ingress failure', {}, error);
    }
  };
}

/**
 * The receiver used when the function's configuration (environment, AGENT_CONFIG) is invalid: every delivery gets a
 * 503, so PagerDuty keeps retrying for up to 48 hours while the configuration is fixed, instead of dropping pages.
 */
export function misconfiguredReceiver(problem: Error, telemetry: Telemetry): DeliveryReceiver {
  return async () => {
    telemetry.metrics.addMetric(MetricName.ingressFailure, MetricUnit.Count, 1);
    telemetry.logger.error(
      `Ingress is misconfigured and answers 503 to every delivery (PagerDuty retries for 48 hours): ${problem.message}`,
    );
    return answer(503, { status: 'misconfigured' });
  };
}
