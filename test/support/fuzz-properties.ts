import fc from 'fast-check';
import { parseWebhookEvent } from '../../lib/webhook/parse-event';
import { signatureHeaderFor, verifySignature } from '../../lib/webhook/signature';

/**
 * The fuzzing properties of the two functions that face the internet before anything else: the signature verifier
 * and the V3 envelope parser. `npm test` runs each briefly (test/unit/fuzz); `npm run fuzz` runs them for 100,000+
 * cases (bench/fuzz.ts). Each property fails on an exception escaping or on a forged body being accepted.
 */
export const FUZZ_SECRET = 'fuzz-webhook-signing-secret';

export interface FuzzProperty {
  name: string;
  /** Share of the long run's cases (the cheap properties get more). */
  weight: number;
  /** Runs the property; `failed` and fast-check's report say what broke. */
  check(parameters: { numRuns: number; seed?: number }): fc.RunDetails<unknown>;
}

const checker =
  <Ts>(property: fc.IProperty<Ts>) =>
  (parameters: { numRuns: number; seed?: number }): fc.RunDetails<unknown> =>
    fc.check(property, parameters) as fc.RunDetails<unknown>;

const ROUTABLE_ID = /^[\x21-\x7e]{1,120}$/;
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));

/** Headers of every shape: well-formed entries with random digests, other schemes, junk, separators, whitespace. */
const signatureHeader = fc
  .array(
    fc.oneof(
      hex64.map((hex) => `v1=${hex}`),
      hex64.map((hex) => `v1=${hex.toUpperCase()}`),
      hex64.map((hex) => ` v1=${hex.slice(0, 63)} `),
      fc.string({ maxLength: 80 }).map((text) => `v1=${text}`),
      fc.string({ maxLength: 80 }),
      fc.constantFrom('', 'v1=', 'v0=', ',', '=', ' ', 'v1==', 'sha256='),
    ),
    { maxLength: 20 },
  )
  .chain((entries) => fc.constantFrom(',', ', ', ' ,', ';').map((separator) => entries.join(separator)));

const body = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  fc.json().map((text) => Buffer.from(text)),
);

const idLike = fc.oneof(
  fc.string({ maxLength: 140 }),
  fc.stringMatching(/^[0-9A-Z]{1,26}$/),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.object(),
);

/** Envelopes close to PagerDuty's: the fields the parser reads, each of any type or missing. */
const envelopeLike = fc.record(
  {
    event: fc.record(
      {
        id: idLike,
        event_type: fc.oneof(
          fc.constantFrom('incident.triggered', 'incident.annotated', 'pagey.ping', 'service.created', ''),
          fc.string(),
          fc.integer(),
        ),
        resource_type: fc.oneof(fc.string(), fc.constant(null)),
        occurred_at: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        agent: fc.oneof(
          fc.record({ id: idLike, type: fc.oneof(fc.string(), fc.constant(null)) }, { requiredKeys: [] }),
          fc.constant(null),
          fc.string(),
        ),
        data: fc.oneof(
          fc.record(
            {
              type: fc.oneof(fc.constantFrom('incident', 'incident_note', 'service'), fc.string(), fc.constant(null)),
              id: idLike,
              incident: fc.oneof(fc.record({ id: idLike }, { requiredKeys: [] }), fc.string(), fc.constant(null)),
              title: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
              number: fc.oneof(fc.integer(), fc.double(), fc.string()),
              service: fc.oneof(fc.record({ id: idLike, summary: fc.string() }, { requiredKeys: [] }), fc.constant(null)),
              teams: fc.oneof(fc.array(fc.record({ id: idLike }, { requiredKeys: [] }), { maxLength: 3 }), fc.string(), fc.constant(null)),
              assignees: fc.oneof(fc.array(fc.anything(), { maxLength: 3 }), fc.constant(null)),
              priority: fc.oneof(
                fc.record({ summary: fc.string(), name: fc.string() }, { requiredKeys: [] }),
                fc.constant(null),
                fc.integer(),
              ),
            },
            { requiredKeys: [] },
          ),
          fc.anything(),
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

function isConsistent(result: ReturnType<typeof parseWebhookEvent>): boolean {
  if (!result.ok) return typeof result.reason === 'string' && typeof result.detail === 'string';
  const { event } = result;
  return ROUTABLE_ID.test(event.eventId) && event.eventType !== '' && (event.incidentId === null || ROUTABLE_ID.test(event.incidentId));
}

export const FUZZ_PROPERTIES: FuzzProperty[] = [
  {
    name: 'verifier: no exception escapes, arbitrary body, header and secrets',
    weight: 2,
    check: checker(
      fc.property(
        body,
        fc.option(signatureHeader, { nil: undefined }),
        fc.array(fc.string({ minLength: 1, maxLength: 64 }), { maxLength: 3 }),
        (raw, header, secrets) => {
          const check = verifySignature(raw, header, secrets);
          return typeof check.valid === 'boolean';
        },
      ),
    ),
  },
  {
    name: 'verifier: no header that was not made with the secret is accepted',
    weight: 2,
    check: checker(fc.property(body, signatureHeader, (raw, header) => !verifySignature(raw, header, [FUZZ_SECRET]).valid)),
  },
  {
    name: 'verifier: a body altered in any byte after signing is refused, the original accepted',
    weight: 2,
    check: checker(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4096 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, position, flip) => {
        const original = Buffer.from(bytes);
        const header = signatureHeaderFor(original, [FUZZ_SECRET]);
        const altered = Buffer.from(original);
        altered[position % altered.length] ^= flip;
        return verifySignature(original, header, [FUZZ_SECRET]).valid && !verifySignature(altered, header, [FUZZ_SECRET]).valid;
      }),
    ),
  },
  {
    name: 'verifier: a body grown or cut after signing is refused',
    weight: 1,
    check: checker(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1024 }), fc.uint8Array({ minLength: 1, maxLength: 16 }), (bytes, extra) => {
        const original = Buffer.from(bytes);
        const header = signatureHeaderFor(original, [FUZZ_SECRET]);
        return (
          !verifySignature(Buffer.concat([original, Buffer.from(extra)]), header, [FUZZ_SECRET]).valid &&
          !verifySignature(original.subarray(1), header, [FUZZ_SECRET]).valid
        );
      }),
    ),
  },
  {
    name: 'verifier: a signature with one hex digit changed, or made with another secret, is refused',
    weight: 1,
    check: checker(
      fc.property(body, fc.nat({ max: 63 }), fc.string({ minLength: 1, maxLength: 64 }), (raw, digit, other) => {
        const hex = signatureHeaderFor(raw, [FUZZ_SECRET]).slice(3);
        const changed = `${hex.slice(0, digit)}${hex[digit] === '0' ? '1' : '0'}${hex.slice(digit + 1)}`;
        const otherSecretValid = other !== FUZZ_SECRET && verifySignature(raw, signatureHeaderFor(raw, [other]), [FUZZ_SECRET]).valid;
        return !verifySignature(raw, `v1=${changed}`, [FUZZ_SECRET]).valid && !otherSecretValid;
      }),
    ),
  },
  {
    name: 'parser: arbitrary bytes never throw and give a consistent result',
    weight: 3,
    check: checker(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => isConsistent(parseWebhookEvent(Buffer.from(bytes))))),
  },
  {
    name: 'parser: arbitrary JSON never throws and gives a consistent result',
    weight: 3,
    check: checker(fc.property(fc.jsonValue(), (value) => isConsistent(parseWebhookEvent(Buffer.from(JSON.stringify(value) ?? 'null'))))),
  },
  {
    name: 'parser: near-V3 envelopes never throw; an accepted event carries the id it was sent',
    weight: 4,
    check: checker(
      fc.property(envelopeLike, (value) => {
        const text = JSON.stringify(value);
        const result = parseWebhookEvent(Buffer.from(text));
        if (!isConsistent(result)) return false;
        if (!result.ok) return true;
        const sentId = (JSON.parse(text) as { event: { id: unknown } }).event.id;
        return result.event.eventId === sentId;
      }),
    ),
  },
];
