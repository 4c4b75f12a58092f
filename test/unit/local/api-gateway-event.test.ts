import { apiGatewayTime, buildHttpApiEvent, isTextContentType, lowercaseHeaders } from '../../../local/runner/api-gateway-event';

describe('API Gateway HTTP API payload 2.0 event building', () => {
  const now = new Date('2026-03-12T19:03:58.123Z');

  it('treats JSON and text as text and everything else (or nothing) as binary, as HTTP APIs infer', () => {
    expect(isTextContentType('application/json')).toBe(true);
    expect(isTextContentType('application/json; charset=utf-8')).toBe(true);
    expect(isTextContentType('application/vnd.api+json')).toBe(true);
    expect(isTextContentType('text/plain')).toBe(true);
    expect(isTextContentType('application/octet-stream')).toBe(false);
    expect(isTextContentType('image/png')).toBe(false);
    expect(isTextContentType(undefined)).toBe(false);
  });

  it('lowercases header names and joins repeated headers with commas', () => {
    expect(lowercaseHeaders(['X-PagerDuty-Signature', 'v1=a', 'x-pagerduty-signature', 'v1=b', 'Host', 'h'])).toEqual({
      'x-pagerduty-signature': 'v1=a,v1=b',
      host: 'h',
    });
  });

  it('formats requestContext.time like API Gateway', () => {
    expect(apiGatewayTime(now)).toBe('12/Mar/2026:19:03:58 +0000');
  });

  it('keeps a text body byte for byte and fills the request context', () => {
    const body = Buffer.from('{ "a" : "é" }\n');
    const event = buildHttpApiEvent(
      {
        method: 'post',
        url: '/webhooks/pagerduty?x=1&x=2',
        rawHeaders: ['Content-Type', 'application/json', 'User-Agent', 'PagerDuty-Webhook/V3.0'],
        body,
        sourceIp: '127.0.0.1',
      },
      { routeKey: 'POST /webhooks/pagerduty', now, requestId: 'req-1' },
    );
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /webhooks/pagerduty',
      rawPath: '/webhooks/pagerduty',
      rawQueryString: 'x=1&x=2',
      queryStringParameters: { x: '1,2' },
      isBase64Encoded: false,
      body: body.toString('utf8'),
      requestContext: {
        http: {
          method: 'POST',
          path: '/webhooks/pagerduty',
          sourceIp: '127.0.0.1',
          userAgent: 'PagerDuty-Webhook/V3.0',
          protocol: 'HTTP/1.1',
        },
        requestId: 'req-1',
        stage: '$default',
        timeEpoch: now.getTime(),
      },
    });
    expect(Buffer.from(event.body as string, 'utf8').equals(body)).toBe(true);
  });

  it('base64-encodes a binary body and omits body when there is none', () => {
    const bytes = Buffer.from([0, 255, 10, 13]);
    const binary = buildHttpApiEvent(
      { method: 'POST', url: '/p', rawHeaders: [], body: bytes, sourceIp: '::1' },
      { routeKey: 'POST /p', now },
    );
    expect(binary.isBase64Encoded).toBe(true);
    expect(Buffer.from(binary.body as string, 'base64').equals(bytes)).toBe(true);
    const empty = buildHttpApiEvent(
      { method: 'GET', url: '/p', rawHeaders: [], body: Buffer.alloc(0), sourceIp: '::1' },
      { routeKey: 'GET /p', now },
    );
    expect(empty.body).toBeUndefined();
    expect(empty.queryStringParameters).toBeUndefined();
  });
});
