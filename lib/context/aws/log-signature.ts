/**
 * A log line's kind: the message with what varies between occurrences masked (times, request ids, UUIDs, hex ids,
 * numbers, quoted values), so "Timeout after 3012 ms for 5f0c…" and "Timeout after 2950 ms for 9a1b…" count as one.
 */

const MAX_SIGNATURE_LENGTH = 200;

const MASKS: [RegExp, string][] = [
  // Lambda's own prefix: "2024-05-09T10:00:00.000Z\t<request id>\tERROR\t".
  [/^\d{4}-\d{2}-\d{2}T[\d:.]+Z\s+[0-9a-f-]{36}\s+/i, ''],
  [/\b\d{4}-\d{2}-\d{2}[T ][\d:.,]+(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\barn:aws[\w-]*:[\w-]+:[\w-]*:\d*:\S+/g, '<arn>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b/gi, '<hex>'],
  [/\b\d+(\.\d+)?\b/g, '<n>'],
  [/"[^"]{24,}"/g, '"<text>"'],
  [/\s+/g, ' '],
];

export function logSignature(message: string): string {
  let signature = message.trim();
  for (const [pattern, replacement] of MASKS) signature = signature.replace(pattern, replacement);
  return signature.trim().slice(0, MAX_SIGNATURE_LENGTH);
}
