/**
 * Incident titles of the same problem differ in hosts, ids, counts and timestamps ("Disk 91% full on 10.0.3.7" vs
 * "Disk 97% full on 10.0.4.2"). Recurrence and flapping compare titles after stripping those variable parts.
 */

/** Two titles whose normalised token sets overlap at least this much (Jaccard) describe the same problem. */
export const TITLE_SIMILARITY_THRESHOLD = 0.6;

/** Titles are capped before normalising so a pathological title costs bounded work. */
const MAX_TITLE_LENGTH = 512;

const VARIABLE_PARTS: RegExp[] = [
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, // UUIDs
  /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, // IPv4, optionally with a port
  /\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b/g, // IPv6 (loosely)
  /\b0x[0-9a-f]+\b/g, // hex literals
  /(?<=[a-z0-9])-[a-z0-9]{8,10}-[a-z0-9]{5}\b/g, // Kubernetes pod suffixes: api-7d9f8c6b5-x2k4q keeps `api`
  /\b[a-z]{1,6}-(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/g, // cloud ids: i-0abc123def, sg-…, vol-…
  /\b(?=[0-9a-f]*\d)[0-9a-f]{7,}\b/g, // hashes, commit ids, request ids
  /\d+(?:\.\d+)?/g, // numbers, counts, percentages, versions
];

/** The comparable words of a title: lowercase, variable parts removed, tokens of two characters or more. */
export function titleTokens(title: string): Set<string> {
  let text = title.slice(0, MAX_TITLE_LENGTH).toLowerCase();
  for (const pattern of VARIABLE_PARTS) text = text.replace(pattern, ' ');
  return new Set(text.split(/[^\p{L}\p{N}]+/u).filter((token) => token.length >= 2));
}

/** Jaccard similarity of two token sets; two empty sets (titles made only of numbers and ids) are not similar. */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const token of a) if (b.has(token)) shared += 1;
  return shared / (a.size + b.size - shared);
}

export function titlesAreSimilar(a: string, b: string, threshold = TITLE_SIMILARITY_THRESHOLD): boolean {
  return jaccard(titleTokens(a), titleTokens(b)) >= threshold;
}
