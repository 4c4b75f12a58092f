import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventFilters } from '../config/filters-config';
import { MetricName, type MetricNameValue, type Telemetry } from '../observability/telemetry';
import type { EventQueuePort } from '../queue/event-queue';
import { RATE_LIMITED } from '../secrets/cached-read';
import type { WebhookSecretProvider } from '../secrets/signing-secret-source';
import type { EventLedgerPort } from '../state/event-ledger';
import { evaluateFilters } from '../webhook/filters';
import { headerValue, type HeaderMap } from '../webhook/headers';
import { parseWebhookEvent } from '../webhook/parse-event';
import { matchSignature, readSignatureHeader, SIGNATURE_HEADER, type SignatureFailureReason } from '../webhook/signature';

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

/** The `reason` of a 503 for a signature that matches no cached secret and could not be checked against a fresh read. */
export const SIGNATURE_UNCONFIRMED = 'signature-unconfirmed';

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

// Delivery identifiers go into each log line rather than through logger.appendKeys: appending and resetting keys per
// request cost the hot path more than building the few lines a delivery can log.
type DeliveryKeys = Record<string, string | null>;

/** Characters of a claimed value a log line keeps: PagerDuty's ids are far shorter; anything longer is cut and marked. */
export const CLAIMED_VALUE_MAX_CHARS = 64;

/**
 * A value the sender chose and nothing verified (every header: PagerDuty's signature covers the body only), as a log
 * line may carry it: at most CLAIMED_VALUE_MAX_CHARS characters, the cut said, so a request cannot fill the logs or
 * pose a long forged value as the agent's. The log keys that hold such values start with `claimed`.
 */
export function claimedValue(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  if (value.length <= CLAIMED_VALUE_MAX_CHARS) return value;
  return `${value.slice(0, CLAIMED_VALUE_MAX_CHARS)}…[${value.length - CLAIMED_VALUE_MAX_CHARS} more characters cut]`;
}

/** A request that passed every check that needs no configuration: a POST under the size cap offering `v1=` signatures. */
interface SignedRequest {
  raw: Buffer;
  candidates: Buffer[];
  webhookId: string | null;
  subscriptionId: string | null;
  keys: DeliveryKeys;
}

/** The answers and checks the configured receiver and the misconfigured one share. */
function receiverBasics(telemetry: Telemetry) {
  const { logger, metrics } = telemetry;
  const count = (name: MetricNameValue): void => {
    metrics.addMetric(name, MetricUnit.Count, 1);
  };

  const unavailable = (message: string, keys: DeliveryKeys, error?: unknown, reason?: string): IngressAnswer => {
    count(MetricName.ingressFailure);
    const line = `${message}; answered 503 so PagerDuty retries the delivery`;
    logger.error(line, error === undefined ? keys : { ...keys, error: error as Error });
    return answer(503, { status: 'unavailable', ...(reason === undefined ? {} : { reason }) });
  };

  const unauthorized = (delivery: Delivery, keys: DeliveryKeys, reason: SignatureFailureReason): IngressAnswer => {
    count(MetricName.signatureInvalid);
    count(SIGNATURE_REASON_METRIC[reason]);
    logger.warn('Signature rejected: answered 401', {
      ...keys,
      reason,
      sourceIp: delivery.sourceIp,
      claimedUserAgent: claimedValue(headerValue(delivery.headers, 'user-agent')),
    });
    return answer(401, { status: 'unauthorized', reason });
  };

  /**
   * The answers that do not depend on configuration (wrong method, over the size cap, not signed at all), so they hold
   * even while the configuration is broken; otherwise the request to verify.
   */
  const screen = (delivery: Delivery): IngressAnswer | SignedRequest => {
    const { method, headers } = delivery;
    // PagerDuty only ever POSTs; anything else is not a delivery and cannot be a genuine one answered 4xx.
    if (method !== undefined && method !== 'POST') {
      logger.warn('Request is not a POST: answered 405', { claimedMethod: claimedValue(method), claimedPath: claimedValue(delivery.path) });
      return answer(405, { status: 'method-not-allowed' }, { allow: 'POST' });
    }
    count(MetricName.webhookReceived);
    const webhookId = headerValue(headers, WEBHOOK_ID_HEADER) ?? null;
    const subscriptionId = headerValue(headers, SUBSCRIPTION_HEADER) ?? null;
    // Header values are claims whether or not the body's signature matches: logged cut short and labelled so.
    const keys: DeliveryKeys = { claimedWebhookId: claimedValue(webhookId), claimedSubscriptionId: claimedValue(subscriptionId) };
    const raw = delivery.body;
    if (raw === 'too-large') {
      count(MetricName.webhookTooLarge);
      logger.warn('Body over the size cap: answered 413', { ...keys, maxBytes: MAX_BODY_BYTES });
      return answer(413, { status: 'too-large' });
    }
    const offered = readSignatureHeader(headerValue(headers, SIGNATURE_HEADER));
    if ('reason' in offered) return unauthorized(delivery, keys, offered.reason);
    return { raw, candidates: offered.candidates, webhookId, subscriptionId, keys };
  };

  return { logger, count, unavailable, unauthorized, screen };
}

/**
 * The ingress use case (API Gateway's framing is in lib/adapters/api-gateway.ts): verifies a PagerDuty V3 delivery on
 * its exact bytes, records it once, enqueues it durably and answers as docs/how-it-works.md "Ingress: what PagerDuty
 * gets back" says. It answers 2xx only for a delivery that is queued, a duplicate of a queued one, or deliberately not
 * taken on (ping, filtered, quarantined); 401 only for a signature that matches no secret the agent holds now; any
 * failure of its dependencies is a 503, so PagerDuty retries.
 */
export function createDeliveryReceiver(deps: IngressDeps): DeliveryReceiver {
  const { logger, count, unavailable, unauthorized, screen } = receiverBasics(deps.telemetry);
  const now = deps.now ?? (() => new Date());

  /**
   * The signature matches no cached secret and the list cannot be re-read yet (one re-read per interval, whatever the
   * traffic). A 401 now could drop a genuine delivery signed with a secret stored moments ago; a 503 is retried.
   */
  const unconfirmed = (keys: DeliveryKeys): IngressAnswer => {
    count(MetricName.signatureUnconfirmed);
    logger.warn(
      'Signature matches no cached signing secret and the secrets were re-read too recently to re-read them now: ' +
        'answered 503 so PagerDuty retries (a secret stored moments ago is accepted then; a forgery gets 401 once re-read)',
      keys,
    );
    return answer(503, { status: 'unavailable', reason: SIGNATURE_UNCONFIRMED });
  };

  async function handle(delivery: Delivery): Promise<IngressAnswer> {
    // Taken before any secret is read: only a read begun after this moment can vouch that a signature is forged.
    const arrivedAt = now().getTime();
    const screened = screen(delivery);
    if (!('raw' in screened)) return screened;
    const { raw, candidates, webhookId, subscriptionId, keys } = screened;
    const { headers } = delivery;

    let secrets: readonly string[];
    let matched: number;
    try {
      secrets = await deps.secrets.getWebhookSecrets();
      matched = matchSignature(raw, candidates, secrets);
    } catch (error) {
      return unavailable('Could not read the webhook signing secrets', keys, error);
    }
    if (matched === -1) {
      // The cached list may predate a secret stored since (subscribe, rotate). `pd-agent webhook subscribe` activates a
      // subscription only once its secret is stored, so a list read after this delivery arrived holds the secret of
      // anything PagerDuty could have signed it with: only that list may refuse it.
      let current: readonly string[] | typeof RATE_LIMITED;
      try {
        current = await deps.secrets.getWebhookSecretsReadSince(arrivedAt);
      } catch (error) {
        return unavailable(
          'Signature matches no cached signing secret and the secrets could not be re-read to check it',
          keys,
          error,
          SIGNATURE_UNCONFIRMED,
        );
      }
      if (current === RATE_LIMITED) return unconfirmed(keys);
      if (current !== secrets) {
        secrets = current;
        matched = matchSignature(raw, candidates, secrets);
      }
    }
    if (matched === -1) {
      if (secrets.length === 0) {
        // Nothing can be verified: a configuration fault, not a forgery. 4xx would make PagerDuty drop genuine pages.
        return unavailable(
          "No webhook signing secret is configured, so no delivery can be verified. Store every live subscription's signing secret with `pd-agent webhook subscribe`",
          keys,
        );
      }
      return unauthorized(delivery, keys, 'mismatch');
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
        // The detail (a JSON parser's message can quote the body) stays in the quarantine item: logs carry no body.
        logger.error('Signed body is not a usable V3 webhook: quarantined for inspection', {
          ...keys,
          reason: parsed.reason,
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
 * The receiver used when the function's configuration (environment, AGENT_CONFIG's filters) is invalid: requests that
 * are refused whatever the configuration (not a POST, too large, unsigned) get their usual answers; every other one a
 * 503, so PagerDuty keeps retrying for up to 48 hours while the configuration is fixed, instead of dropping pages.
 */
export function misconfiguredReceiver(problem: Error, telemetry: Telemetry): DeliveryReceiver {
  const { logger, count, screen } = receiverBasics(telemetry);
  return async (delivery) => {
    const screened = screen(delivery);
    if (!('raw' in screened)) return screened;
    count(MetricName.ingressFailure);
    logger.error(
      `Ingress is misconfigured and answers 503 to every signed delivery (PagerDuty retries for 48 hours): ${problem.message}`,
      screened.keys,
    );
    return answer(503, { status: 'misconfigured' });
  };
}
