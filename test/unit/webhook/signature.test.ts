import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { headerValue } from '../../../lib/webhook/headers';
import { verifySignature } from '../../../lib/webhook/signature';
import { fixtureNames, loadFixture } from '../../support/webhooks';

// Computed here with crypto directly, not with the module under test.
const hmacHex = (secret: string, body: Buffer): string => createHmac('sha256', secret).update(body).digest('hex');
const SECRET = 'whsec-current';
const OTHER = 'whsec-other';
const body = loadFixture('triggered_v3.json');
const good = `v1=${hmacHex(SECRET, body)}`;
const wrong = `v1=${hmacHex(OTHER, body)}`;

describe('verifySignature', () => {
  it('matches the published HMAC-SHA256 test vector', () => {
    const vector = Buffer.from('The quick brown fox jumps over the lazy dog');
    const header = 'v1=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8';
    expect(verifySignature(vector, header, ['key'])).toEqual({ valid: true, secretIndex: 0 });
  });

  it.each(fixtureNames())('accepts %s signed over its exact bytes', (name) => {
    const fixture = loadFixture(name);
    expect(verifySignature(fixture, `v1=${hmacHex(SECRET, fixture)}`, [SECRET])).toEqual({ valid: true, secretIndex: 0 });
  });

  it('rejects a signature made with another secret', () => {
    expect(verifySignature(body, wrong, [SECRET])).toEqual({ valid: false, reason: 'mismatch' });
  });

  it('accepts uppercase hex', () => {
    expect(verifySignature(body, good.toUpperCase().replace('V1=', 'v1='), [SECRET]).valid).toBe(true);
  });

  describe('several signatures in one header', () => {
    it.each([
      ['first', `${good},${wrong}`],
      ['last', `${wrong},${good}`],
      ['in the middle, with spaces', `${wrong} ,  ${good} , ${wrong}`],
      ['after unknown schemes', `t=1700000000,v0=${hmacHex(SECRET, body)},v2=abc, ${good}`],
    ])('accepts the valid one %s', (_where, header) => {
      expect(verifySignature(body, header, [SECRET]).valid).toBe(true);
    });

    it('rejects when none is valid', () => {
      expect(verifySignature(body, `${wrong},v1=${hmacHex('third', body)}`, [SECRET])).toEqual({
        valid: false,
        reason: 'mismatch',
      });
    });
  });

  describe('several secrets (rotation)', () => {
    it('says which secret matched', () => {
      expect(verifySignature(body, wrong, [SECRET, OTHER])).toEqual({ valid: true, secretIndex: 1 });
      expect(verifySignature(body, good, [SECRET, OTHER])).toEqual({ valid: true, secretIndex: 0 });
    });

    it("accepts a header carrying both subscriptions' signatures with only the new secret configured", () => {
      expect(verifySignature(body, `${good},${wrong}`, [OTHER])).toEqual({ valid: true, secretIndex: 0 });
    });

    it('rejects everything with no secret configured', () => {
      expect(verifySignature(body, good, [])).toEqual({ valid: false, reason: 'mismatch' });
    });
  });

  it('verifies the decoded bytes of a base64 body', () => {
    const transported = body.toString('base64');
    const decoded = Buffer.from(transported, 'base64');
    expect(verifySignature(decoded, good, [SECRET]).valid).toBe(true);
    // Hashing the base64 text instead of the bytes it carries is the classic mistake: it must not verify.
    expect(verifySignature(Buffer.from(transported, 'utf8'), good, [SECRET]).valid).toBe(false);
  });

  it('verifies non-ASCII bodies byte for byte', () => {
    const unicode = Buffer.from('{"event":{"id":"E1","data":{"title":"Dépassement 🔥 ディスク"}}}', 'utf8');
    const header = `v1=${hmacHex(SECRET, unicode)}`;
    expect(verifySignature(unicode, header, [SECRET]).valid).toBe(true);
    // The same text re-encoded as latin1 is different bytes.
    expect(verifySignature(Buffer.from(unicode.toString('utf8'), 'latin1'), header, [SECRET]).valid).toBe(false);
  });

  describe('whitespace is part of what was signed', () => {
    const variants: [string, Buffer][] = [
      ['a trailing space added', Buffer.concat([body, Buffer.from(' ')])],
      ['a trailing newline added', Buffer.concat([body, Buffer.from('\n')])],
      ['the final newline removed', body.subarray(0, body.length - 1)],
      ['re-serialised JSON', Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))))],
    ];

    it.each(variants)('rejects the original signature with %s', (_change, altered) => {
      expect(body[body.length - 1]).toBe(0x0a);
      expect(verifySignature(altered, good, [SECRET])).toEqual({ valid: false, reason: 'mismatch' });
    });

    it.each(variants)('accepts a body with %s when that is what was signed', (_change, altered) => {
      expect(verifySignature(altered, `v1=${hmacHex(SECRET, altered)}`, [SECRET]).valid).toBe(true);
    });
  });

  describe('missing and malformed headers', () => {
    it.each([[undefined], [''], ['   ']])('calls %p missing', (header) => {
      expect(verifySignature(body, header, [SECRET])).toEqual({ valid: false, reason: 'missing' });
    });

    it.each([
      ['an empty v1 value', 'v1='],
      ['a scheme without value', 'v1'],
      ['only an unknown scheme', `v2=${hmacHex(SECRET, body)}`],
      ['odd-length hex', `${good.slice(0, -1)}`],
      ['non-hex characters', `v1=${hmacHex(SECRET, body).slice(0, 62)}zz`],
      ['a space before "="', `v1 =${hmacHex(SECRET, body)}`],
      ['10,000 commas', ','.repeat(10_000)],
      ['10,000 empty v1 entries', 'v1=,'.repeat(10_000)],
      ["another algorithm's name", `sha256=${hmacHex(SECRET, body)}`],
    ])('calls a header with %s malformed', (_what, header) => {
      expect(verifySignature(body, header, [SECRET])).toEqual({ valid: false, reason: 'malformed' });
    });

    it('still finds a valid signature after 10,000 commas', () => {
      expect(verifySignature(body, `${','.repeat(10_000)}${good}`, [SECRET]).valid).toBe(true);
    });

    it('bounds the work on a header full of well-formed signatures', () => {
      const flood = Array.from({ length: 1000 }, (_, index) => `v1=${hmacHex(`forged-${index}`, body)}`);
      // Past the first 16 candidates nothing is considered, so a genuine one hidden behind a flood is not found.
      expect(verifySignature(body, [...flood, good].join(','), [SECRET])).toEqual({ valid: false, reason: 'mismatch' });
      expect(verifySignature(body, [good, ...flood].join(','), [SECRET]).valid).toBe(true);
    });
  });

  describe('property: only the genuine body and secret verify', () => {
    const secretArb = fc.string({ minLength: 1, maxLength: 40 });
    const bodyArb = fc.uint8Array({ minLength: 0, maxLength: 512 }).map((bytes) => Buffer.from(bytes));

    it('accepts every genuine body', () => {
      fc.assert(
        fc.property(bodyArb, secretArb, (bytes, secret) => {
          expect(verifySignature(bytes, `v1=${hmacHex(secret, bytes)}`, [secret]).valid).toBe(true);
        }),
      );
    });

    it('rejects every mutation of a signed body', () => {
      const mutation = fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      );
      fc.assert(
        fc.property(bodyArb, secretArb, mutation, (bytes, secret, change) => {
          let mutated: Buffer;
          if (change.kind === 'insert') {
            const at = change.at % (bytes.length + 1);
            mutated = Buffer.concat([bytes.subarray(0, at), Buffer.from([change.byte]), bytes.subarray(at)]);
          } else {
            fc.pre(bytes.length > 0);
            const at = change.at % bytes.length;
            mutated = Buffer.from(bytes);
            if (change.kind === 'flip') mutated[at] ^= 1 << change.bit;
            else mutated = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
          }
          expect(verifySignature(mutated, `v1=${hmacHex(secret, bytes)}`, [secret]).valid).toBe(false);
        }),
      );
    });

    it('rejects every other secret', () => {
      fc.assert(
        fc.property(bodyArb, secretArb, secretArb, (bytes, secret, other) => {
          fc.pre(secret !== other);
          expect(verifySignature(bytes, `v1=${hmacHex(secret, bytes)}`, [other])).toEqual({ valid: false, reason: 'mismatch' });
        }),
      );
    });
  });
});

describe('headerValue', () => {
  it('looks names up ignoring case', () => {
    const headers = { 'X-PagerDuty-Signature': 'v1=ab', 'x-webhook-id': 'W1' };
    expect(headerValue(headers, 'x-pagerduty-signature')).toBe('v1=ab');
    expect(headerValue(headers, 'X-Webhook-Id')).toBe('W1');
    expect(headerValue(headers, 'x-absent')).toBeUndefined();
    expect(headerValue(undefined, 'x-webhook-id')).toBeUndefined();
  });
});
