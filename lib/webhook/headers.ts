/** Request headers as API Gateway hands them over: payload 2.0 lowercases names, payload 1.0 and tests may not. */
export type HeaderMap = Readonly<Record<string, string | undefined>>;

/** Looks a header up by name, ignoring case. */
export function headerValue(headers: HeaderMap | null | undefined, name: string): string | undefined {
  if (headers === null || headers === undefined) return undefined;
  const lower = name.toLowerCase();
  const direct = headers[lower];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === lower) return headers[key];
  }
  return undefined;
}
