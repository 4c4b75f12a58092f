import fc from 'fast-check';
import { redactLogLine } from '../../../../lib/context/aws/log-redaction';
import { surgesOf } from '../../../../lib/context/aws/log-surge-provider';

const chars = (alphabet: string, minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE64URL = `${ALNUM}-_`;

/** A credential as it appears in a log line, and the secret part of it that must not survive. */
interface Leak {
  text: string;
  secret: string;
}

const accessKeyId: fc.Arbitrary<Leak> = fc
  .tuple(fc.constantFrom('AKIA', 'ASIA'), chars(UPPER_DIGITS, 16, 16))
  .map(([prefix, rest]) => ({ text: `${prefix}${rest}`, secret: `${prefix}${rest}` }));
// An AWS secret key is 40 characters of base64; at least one `/` or `+` or upper-case letter keeps it from being hex.
const secretKey: fc.Arbitrary<Leak> = fc
  .tuple(chars(`${ALNUM}/+`, 39, 39), fc.constantFrom('/', '+', 'Z'))
  .map(([body, mark]) => `${body.slice(0, 20)}${mark}${body.slice(20)}`)
  .map((key) => ({ text: key, secret: key }));
const bearer: fc.Arbitrary<Leak> = fc
  .tuple(fc.constantFrom('Authorization: Bearer ', 'bearer ', 'Basic '), chars(`${ALNUM}._~+/-`, 12, 60))
  .map(([prefix, token]) => ({ text: `${prefix}${token}`, secret: token }));
const jwt: fc.Arbitrary<Leak> = fc
  .tuple(chars(BASE64URL, 8, 40), chars(BASE64URL, 8, 80), chars(BASE64URL, 8, 43))
  .map(([header, payload, signature]) => ({ text: `eyJ${header}.${payload}.${signature}`, secret: `${payload}.${signature}` }));
const pair: fc.Arbitrary<Leak> = fc
  .tuple(
    fc.constantFrom('password', 'PASSWORD', 'db_password', 'pwd', 'secret', 'api_key', 'x-api-key', 'client_secret', 'token'),
    fc.constantFrom('=', ': ', ' = ', '":"', '": "'),
    chars(`${ALNUM}!@#$%^*()[]`, 12, 40),
  )
  .map(([key, separator, value]) => ({ text: `${key}${separator}${value}`, secret: value }));
const connectionString: fc.Arbitrary<Leak> = fc
  .tuple(fc.constantFrom('postgres', 'mysql', 'mongodb+srv', 'redis', 'amqp'), chars(ALNUM, 1, 12), chars(`${ALNUM}!$%^*`, 12, 30))
  .map(([scheme, user, password]) => ({ text: `${scheme}://${user}:${password}@db.internal:5432/orders`, secret: password }));

const leak = fc.oneof(accessKeyId, secretKey, bearer, jwt, pair, connectionString);
/** Text around the credential: anything, kept apart from it by a space as a log line would. */
const around = fc.string({ maxLength: 80 });

describe('log-line redaction', () => {
  it('no credential of any supported kind survives, whatever surrounds it', () => {
    fc.assert(
      fc.property(around, leak, around, (before, { text, secret }, after) => {
        const line = `${before} ${text} ${after}`;
        const redacted = redactLogLine(line);
        return !redacted.includes(secret) || `${before}${after}`.includes(secret);
      }),
      { numRuns: 2000, seed: 19 },
    );
  });

  it('is idempotent and leaves a line without credentials as it was', () => {
    fc.assert(
      fc.property(around, (line) => redactLogLine(redactLogLine(line)) === redactLogLine(line)),
      { numRuns: 1000, seed: 19 },
    );
    for (const plain of [
      "2026-03-10T03:10:12.345Z\t9f0c1e2a\tERROR\tTypeError: Cannot read properties of undefined (reading 'amount')",
      'ERROR Task timed out after 3.00 seconds',
      'deployed commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'java.lang.IllegalStateException: pool exhausted (active=50, idle=0)',
    ]) {
      expect(redactLogLine(plain)).toBe(plain);
    }
  });

  it('masks the examples of each kind the way a reader can still follow', () => {
    expect(redactLogLine('login failed password=hunter2hunter2 user=bob')).toBe('login failed password=[redacted] user=bob');
    expect(redactLogLine('key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(
      'key [aws-access-key-id] secret [redacted]',
    );
    expect(redactLogLine('connect postgres://app:Sup3rS3cret@db.internal:5432/orders failed')).toBe(
      'connect postgres://app:[redacted]@db.internal:5432/orders failed',
    );
    expect(redactLogLine('Server=db;User Id=a;Password=p@ss;')).toBe('Server=db;User Id=a;Password=[redacted];');
    expect(redactLogLine('-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----')).toBe('[private-key]');
  });

  it('masks a long hostile line whole (RE2 cannot backtrack on it)', () => {
    const hostile = `${'password='.repeat(2_000)}${'a'.repeat(20_000)}`;
    expect(redactLogLine(hostile)).not.toContain('a'.repeat(1000));
  });

  it('the surge evidence (example and signature) carries no credential the log line had', () => {
    const line = 'ERROR auth failed for postgres://app:Sup3rS3cret@db/orders token=eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl';
    const [surge] = surgesOf('/aws/lambda/orders-api', [{ message: line, timestamp: 1 }], [], 'https://console');
    expect(JSON.stringify(surge)).not.toMatch(/Sup3rS3cret|eyJzdWIiOiIx/);
    expect(surge?.example).toBe('ERROR auth failed for postgres://app:[redacted]@db/orders token=[redacted]');
  });
});
