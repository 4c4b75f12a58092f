import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { buildHttpApiEvent } from './api-gateway-event';
import { createLambdaContext } from './lambda-context';
import type { LambdaHandler } from './handler-loader';
import { invokeWithTimeout } from './invoke';
import { buffer } from 'node:stream/consumers';

/** API Gateway HTTP APIs give up on an integration after 30 s (not adjustable). */
export const HTTP_API_INTEGRATION_TIMEOUT_MS = 30_000;

export interface HttpRequestObservation {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  body: Buffer;
  headers: Record<string, string>;
}

export interface ApiGatewayServerOptions {
  ingress: LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;
  /** Route keys served by the ingress, e.g. `POST /webhooks/pagerduty`; anything else is API Gateway's 404. */
  routes: string[];
  host: string;
  port: number;
  functionTimeoutMs: number;
  onRequest?: (observation: HttpRequestObservation) => void;
}

export interface ApiGatewayServer {
  url: string;
  /** Requests received and not yet answered. */
  inFlight(): number;
  stop(): Promise<void>;
}

interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

const jsonAnswer = (statusCode: number, message: string): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ message })),
});

/** API Gateway's translation of a payload 2.0 result (a bare string or object means 200 with that JSON). */
export function toHttpAnswer(result: APIGatewayProxyResultV2): HttpAnswer {
  if (typeof result === 'string') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(result) };
  }
  if (result === null || typeof result !== 'object' || !('statusCode' in result) || result.statusCode === undefined) {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(result)) };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  const raw = result.body ?? '';
  return {
    statusCode: result.statusCode,
    headers,
    body: result.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8'),
  };
}

/**
 * The part of API Gateway the webhook path needs: routes, the payload 2.0 translation, the 30-second integration
 * limit, and API Gateway's own answers when the function fails (500) or times out (503).
 */
export async function startApiGatewayServer(options: ApiGatewayServerOptions): Promise<ApiGatewayServer> {
  let inFlight = 0;
  const routes = new Set(options.routes);

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const started = Date.now();
    const body = await buffer(request);
    const method = (request.method ?? 'GET').toUpperCase();
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const routeKey = `${method} ${path}`;
    let answer: HttpAnswer;
    if (!routes.has(routeKey) && !routes.has(`ANY ${path}`)) {
      answer = jsonAnswer(404, 'Not Found');
    } else {
      const event = buildHttpApiEvent(
        { method, url: request.url ?? '/', rawHeaders: request.rawHeaders, body, sourceIp: request.socket.remoteAddress ?? '127.0.0.1' },
        { routeKey },
      );
      const timeoutMs = Math.min(options.functionTimeoutMs, HTTP_API_INTEGRATION_TIMEOUT_MS);
      const context = createLambdaContext({ functionName: 'ingress', timeoutMs: options.functionTimeoutMs });
      const outcome = await invokeWithTimeout(() => options.ingress(event, context), timeoutMs);
      if (outcome.ok) {
        answer = toHttpAnswer(outcome.value);
      } else {
        if (!outcome.timedOut) console.error(`ingress handler failed: ${(outcome.error as Error)?.stack ?? String(outcome.error)}`);
        answer = outcome.timedOut ? jsonAnswer(503, 'Service Unavailable') : jsonAnswer(500, 'Internal Server Error');
      }
    }
    response.writeHead(answer.statusCode, { ...answer.headers, 'content-length': answer.body.length, 'apigw-requestid': 'local' });
    response.end(answer.body);
    const headers: Record<string, string> = {};
    for (let index = 0; index + 1 < request.rawHeaders.length; index += 2)
      headers[request.rawHeaders[index].toLowerCase()] = request.rawHeaders[index + 1];
    options.onRequest?.({ method, path, status: answer.statusCode, durationMs: Date.now() - started, body, headers });
  };

  const server: Server = createServer((request, response) => {
    inFlight += 1;
    handle(request, response)
      .catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: 'Internal Server Error' }));
        console.error(`local API Gateway failed: ${(error as Error).message}`);
      })
      .finally(() => {
        inFlight -= 1;
      });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${options.port} on ${options.host} is already in use. Stop what is using it, or pass --port <another>.`)
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve((server.address() as AddressInfo).port));
  });
  return {
    url: `http://${options.host}:${port}`,
    inFlight: () => inFlight,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
