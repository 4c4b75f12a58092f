import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** What the runner's HTTP server read from one request, before API Gateway's translation. */
export interface IncomingHttpRequest {
  method: string;
  /** The request target as received: path and optional query string. */
  url: string;
  /** Header name/value pairs in arrival order (Node's `rawHeaders`, pairs flattened). */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
}

export interface HttpApiContext {
  /** The route key API Gateway matched, e.g. `POST /webhooks/pagerduty`. */
  routeKey: string;
  stage?: string;
  apiId?: string;
  now?: Date;
  requestId?: string;
}

// API Gateway HTTP APIs pass these as text and base64-encode everything else (there is no binaryMediaTypes setting).
const TEXT_TYPES = [
  /^text\//,
  /^application\/(.+\+)?json\b/,
  /^application\/(.+\+)?xml\b/,
  /^application\/javascript\b/,
  /^application\/x-www-form-urlencoded\b/,
];

/** True when API Gateway would hand this body to Lambda as a plain string rather than base64. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === '') return false;
  const type = contentType.trim().toLowerCase();
  return TEXT_TYPES.some((pattern) => pattern.test(type));
}

/** Lowercased names; repeated headers joined with commas, as payload 2.0 does (it has no multiValueHeaders). */
export function lowercaseHeaders(rawHeaders: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index].toLowerCase();
    const value = rawHeaders[index + 1];
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

function queryParameters(search: URLSearchParams): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [name, value] of search) parameters[name] = parameters[name] === undefined ? value : `${parameters[name]},${value}`;
  return Object.keys(parameters).length === 0 ? undefined : parameters;
}

const CLF_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.time` in API Gateway's format, e.g. `12/Mar/2020:19:03:58 +0000`. */
export function apiGatewayTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${CLF_MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/**
 * Builds the HTTP API payload format 2.0 event API Gateway would give the ingress for this request. The body keeps
 * its exact bytes: text content types arrive as the UTF-8 string, anything else base64 with `isBase64Encoded`.
 */
export function buildHttpApiEvent(request: IncomingHttpRequest, context: HttpApiContext): APIGatewayProxyEventV2 {
  const url = new URL(request.url, 'http://localhost');
  const headers = lowercaseHeaders(request.rawHeaders);
  const cookies = headers.cookie?.split(';').map((cookie) => cookie.trim());
  const isBase64Encoded = !isTextContentType(headers['content-type']);
  const now = context.now ?? new Date();
  const stage = context.stage ?? '$default';
  const hasBody = request.body.length > 0;
  return {
    version: '2.0',
    routeKey: context.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.startsWith('?') ? url.search.slice(1) : url.search,
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(queryParameters(url.searchParams) === undefined ? {} : { queryStringParameters: queryParameters(url.searchParams) }),
    requestContext: {
      accountId: '000000000000',
      apiId: context.apiId ?? 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: (headers.host ?? '127').split('.')[0],
      http: {
        method: request.method.toUpperCase(),
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: context.requestId ?? randomUUID(),
      routeKey: context.routeKey,
      stage,
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(hasBody ? { body: isBase64Encoded ? request.body.toString('base64') : request.body.toString('utf8') } : {}),
    isBase64Encoded,
  };
}
