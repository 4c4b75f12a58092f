import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  MAX_BODY_BYTES,
  createDeliveryReceiver,
  misconfiguredReceiver,
  type Delivery,
  type DeliveryReceiver,
  type IngressAnswer,
  type IngressDeps,
} from '../ingress/receive-delivery';
import type { Telemetry } from '../observability/telemetry';

/**
 * The ingress behind API Gateway: the HTTP API (payload 2.0) by default, or the REST API behind AWS WAF (payload 1.0,
 * `webhookIngress.waf`). The request is decoded into a delivery (the body's exact bytes, its size capped before
 * decoding), the answer framed as JSON (a shape both payload versions accept), metrics published once per invocation.
 */
export type IngressResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };
export type IngressRequest = APIGatewayProxyEventV2 | APIGatewayProxyEvent;
export type IngressHandler = (request: IngressRequest, context?: Context) => Promise<IngressResponse>;

/** The decoded size of a base64 string, computed without decoding it. */
function base64DecodedBytes(encoded: string): number {
  const padding = encoded.endsWith('==') ? 2 : encoded.endsWith('=') ? 1 : 0;
  return Math.floor((encoded.length * 3) / 4) - padding;
}

/**
 * Decodes the body exactly as API Gateway received it, or reports it too large. The size is checked before any
 * decoding or hashing, so an oversized request costs next to nothing.
 */
function rawBody(request: IngressRequest): Buffer | 'too-large' {
  const body = request.body ?? '';
  const base64 = request.isBase64Encoded === true;
  // A UTF-8 string has at least as many bytes as characters, so a long string is too large without measuring it.
  if (base64 ? base64DecodedBytes(body) > MAX_BODY_BYTES : body.length > MAX_BODY_BYTES) return 'too-large';
  const raw = Buffer.from(body, base64 ? 'base64' : 'utf8');
  return raw.length > MAX_BODY_BYTES ? 'too-large' : raw;
}

/** Payload 1.0 (REST API) names the method at the top; payload 2.0 (HTTP API) has it under requestContext.http. */
const isRestPayload = (request: IngressRequest): request is APIGatewayProxyEvent => 'httpMethod' in request;

function deliveryOf(request: IngressRequest): Delivery {
  const rest = isRestPayload(request);
  return {
    method: rest ? request.httpMethod : request.requestContext?.http?.method,
    path: rest ? request.path : request.rawPath,
    sourceIp: rest ? request.requestContext?.identity?.sourceIp : request.requestContext?.http?.sourceIp,
    headers: request.headers,
    body: rawBody(request),
    text: request.isBase64Encoded === true ? undefined : (request.body ?? ''),
  };
}

const framed = (answer: IngressAnswer): IngressResponse => ({
  statusCode: answer.statusCode,
  headers: { 'content-type': 'application/json', ...answer.headers },
  body: JSON.stringify(answer.body),
});

function apiGatewayHandler(receive: DeliveryReceiver, telemetry: Telemetry): IngressHandler {
  const { logger, metrics } = telemetry;
  return async (request, context) => {
    if (context !== undefined) logger.addContext(context);
    try {
      return framed(await receive(deliveryOf(request)));
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

export function createIngressHandler(deps: IngressDeps): IngressHandler {
  return apiGatewayHandler(createDeliveryReceiver(deps), deps.telemetry);
}

/** Every delivery answered 503 (PagerDuty retries) while the configuration cannot be read. */
export function createMisconfiguredIngressHandler(problem: Error, telemetry: Telemetry): IngressHandler {
  return apiGatewayHandler(misconfiguredReceiver(problem, telemetry), telemetry);
}
