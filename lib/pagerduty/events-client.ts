import { apiError, exchange, parseJsonAnswer } from './http-exchange';
import type { EventsApi, EventsApiEvent } from './types';

export interface EventsClientOptions {
  /** `https://events.pagerduty.com`, `https://events.eu.pagerduty.com`, or a sandbox. */
  eventsUrl: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** The Events API v2 body: acknowledge and resolve carry only the routing key, dedup key and action. */
export function eventsApiBody(event: EventsApiEvent): Record<string, unknown> {
  const base = { routing_key: event.routingKey, event_action: event.action, dedup_key: event.dedupKey };
  if (event.action !== 'trigger') return base;
  return {
    ...base,
    payload: {
      summary: event.summary.slice(0, 1024),
      source: event.source,
      severity: event.severity,
      ...(event.customDetails === undefined ? {} : { custom_details: event.customDetails }),
    },
  };
}

/** Events API v2 (`POST /v2/enqueue`, 202). No Authorization: the routing key in the body is the credential. */
export function createEventsClient(options: EventsClientOptions): EventsApi {
  const url = `${options.eventsUrl.replace(/\/+$/, '')}/v2/enqueue`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    send: async (event) => {
      const startedAt = Date.now();
      const answer = await exchange(
        'sendEvent',
        doFetch,
        url,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify(eventsApiBody(event)),
        },
        timeoutMs,
      );
      if (!answer.ok) throw apiError('sendEvent', answer);
      const body = parseJsonAnswer<{ dedup_key?: string }>('sendEvent', answer);
      return {
        value: { dedup_key: body.dedup_key ?? event.dedupKey },
        status: answer.status,
        requestId: answer.requestId,
        rateLimit: answer.rateLimit,
        durationMs: Date.now() - startedAt,
      };
    },
  };
}
