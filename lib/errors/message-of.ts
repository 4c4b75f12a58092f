/**
 * What to show of a thrown value: an error's message (also for error objects from another realm or SDK copy), a
 * string as it is, anything else as JSON. Error messages in this project quote causes through it.
 */
export function messageOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
