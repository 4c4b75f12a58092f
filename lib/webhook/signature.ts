import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header PagerDuty V3 signs deliveries with: `v1=<hex>[,v1=<hex>…]`, one entry per active signing secret. */
export const SIGNATURE_HEADER = 'x-pagerduty-signature';

export type SignatureFailureReason = 'missing' | 'malformed' | 'mismatch';

export type SignatureCheck = { valid: true; secretIndex: number } | { valid: false; reason: SignatureFailureReason };

const SCHEME = 'v1=';
/** An HMAC-SHA256 in hex. Any other length cannot match, so it is not even decoded. */
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/**
 * PagerDuty sends one `v1=` entry per live secret (two during a rotation). Past this many candidates a header is
 * hostile or broken; the cap keeps the work per request bounded whatever the header holds.
 */
const MAX_CANDIDATES = 16;

/** The well-formed `v1=` signatures of a header, decoded; unknown schemes, empty, odd-length or non-hex values are skipped. */
function candidateSignatures(header: string): Buffer[] {
  const candidates: Buffer[] = [];
  let start = 0;
  while (start <= header.length && candidates.length < MAX_CANDIDATES) {
    const comma = header.indexOf(',', start);
    const end = comma === -1 ? header.length : comma;
    const entry = header.slice(start, end).trim();
    if (entry.startsWith(SCHEME)) {
      const hex = entry.slice(SCHEME.length);
      if (SHA256_HEX.test(hex)) candidates.push(Buffer.from(hex, 'hex'));
    }
    if (comma === -1) break;
    start = comma + 1;
  }
  return candidates;
}

/**
 * The `v1=` signatures a header offers, or why it offers none. Needs no secret, so a request that is not signed at all
 * is refused before any secret is read.
 */
export function readSignatureHeader(header: string | undefined): { candidates: Buffer[] } | { reason: 'missing' | 'malformed' } {
  if (header === undefined || header.trim() === '') return { reason: 'missing' };
  const candidates = candidateSignatures(header);
  return candidates.length === 0 ? { reason: 'malformed' } : { candidates };
}

/**
 * Which of `secrets` signed `body` as one of `candidates` (from readSignatureHeader), or -1. Every candidate is compared
 * in constant time, matched or not, so the time taken does not depend on where the match is.
 */
export function matchSignature(body: Buffer, candidates: readonly Buffer[], secrets: readonly string[]): number {
  for (let index = 0; index < secrets.length; index++) {
    const expected = createHmac('sha256', secrets[index]).update(body).digest();
    let matched = false;
    for (const candidate of candidates) {
      if (timingSafeEqual(candidate, expected)) matched = true;
    }
    if (matched) return index;
  }
  return -1;
}

/**
 * Verifies a PagerDuty V3 signature over the exact bytes received (never a re-serialised body), against every
 * configured secret. `secretIndex` says which secret matched.
 */
export function verifySignature(body: Buffer, header: string | undefined, secrets: readonly string[]): SignatureCheck {
  const offered = readSignatureHeader(header);
  if ('reason' in offered) return { valid: false, reason: offered.reason };
  const secretIndex = matchSignature(body, offered.candidates, secrets);
  return secretIndex === -1 ? { valid: false, reason: 'mismatch' } : { valid: true, secretIndex };
}

/** The header value PagerDuty would send for `body` signed with each of `secrets` (tests, local sandbox, benchmarks). */
export function signatureHeaderFor(body: Buffer, secrets: readonly string[]): string {
  return secrets.map((secret) => `${SCHEME}${createHmac('sha256', secret).update(body).digest('hex')}`).join(',');
}
