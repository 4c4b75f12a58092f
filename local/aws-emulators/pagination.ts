import type { ServiceError } from './protocol';

/**
 * Opaque continuation tokens: the position in the answer plus a fingerprint of the request, so a token replayed with
 * different parameters is refused the way the services refuse it, instead of silently paging through other data.
 */
interface TokenBody {
  operation: string;
  fingerprint: string;
  offset: number;
}

function encodeToken(operation: string, fingerprint: string, offset: number): string {
  return Buffer.from(JSON.stringify({ operation, fingerprint, offset } satisfies TokenBody)).toString('base64url');
}

/** The offset a token carries (0 without one); `invalid` builds the service's own error for a token it did not issue. */
export function decodeToken(token: string | undefined, operation: string, fingerprint: string, invalid: () => ServiceError): number {
  if (token === undefined || token === '') return 0;
  let body: Partial<TokenBody>;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
  } catch {
    throw invalid();
  }
  if (body.operation !== operation || body.fingerprint !== fingerprint || typeof body.offset !== 'number' || body.offset < 0) {
    throw invalid();
  }
  return body.offset;
}

/** One page of `items` from `offset`, and the token of the next page when there is one. */
export function page<T>(
  items: T[],
  offset: number,
  size: number,
  operation: string,
  fingerprint: string,
): { items: T[]; nextToken?: string } {
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    ...(end < items.length ? { nextToken: encodeToken(operation, fingerprint, end) } : {}),
  };
}
