import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signatureHeaderFor } from '../../lib/webhook/signature';

/** Shared helpers for anything that receives PagerDuty V3 webhooks in tests: fixtures, signing, API Gateway events. */

export const FIXTURES_DIR = join(__dirname, '..', 'fixtures', 'pagerduty-webhooks');

/** The signing secret test deliveries are signed with unless a test says otherwise. */
export const TEST_WEBHOOK_SECRET = 'test-webhook-signing-secret';

/** Every fixture body's file name (`triggered_v3.json`, …). */
export const fixtureNames = (): string[] =>
  readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort();

/** A fixture's exact bytes, as PagerDuty sent them. */
export const loadFixture = (name: string): Buffer => readFileSync(join(FIXTURES_DIR, name));

export interface DeliveryOptions {
  /** Secrets the delivery is signed with (one `v1=` entry each); default: the test secret. */
  secrets?: readonly string[];
  /** Replaces the computed signature header; `null` sends none. */
  signature?: string | null;
  webhookId?: string;
  subscriptionId?: string;
  /** Send the body base64-encoded, as API Gateway does for non-text content types. */
  base64?: boolean;
  method?: string;
  extraHeaders?: Record<string, string>;
}

/** An API Gateway HTTP API (payload 2.0) event for a body, with PagerDuty's delivery headers. */
export function apiGatewayEvent(body: Buffer, options: DeliveryOptions = {}): APIGatewayProxyEventV2 {
  const signature =
    options.signature === undefined ? signatureHeaderFor(body, options.secrets ?? [TEST_WEBHOOK_SECRET]) : options.signature;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'PagerDuty-Webhook/V3.0',
    'x-webhook-id': options.webhookId ?? 'test-webhook-id',
    'x-webhook-subscription': options.subscriptionId ?? 'PSUBTEST',
    ...options.extraHeaders,
  };
  if (signature !== null) headers['x-pagerduty-signature'] = signature;
  const method = options.method ?? 'POST';
  return {
    version: '2.0',
    routeKey: `${method} /webhooks/pagerduty`,
    rawPath: '/webhooks/pagerduty',
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'test-api',
      domainName: 'test-api.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'test-api',
      http: { method, path: '/webhooks/pagerduty', protocol: 'HTTP/1.1', sourceIp: '44.242.69.192', userAgent: 'PagerDuty-Webhook/V3.0' },
      requestId: 'test-request',
      routeKey: `${method} /webhooks/pagerduty`,
      stage: '$default',
      time: '01/Apr/2026:02:07:31 +0000',
      timeEpoch: 1775009251000,
    },
    body: options.base64 === true ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: options.base64 === true,
  };
}

/** The fixture's event id, read the way a test would check it (not through the parser under test). */
export const fixtureEventId = (body: Buffer): string => (JSON.parse(body.toString('utf8')) as { event: { id: string } }).event.id;
