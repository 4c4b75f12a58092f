import type { AuditAction, AuditItem, AuditOutcome } from '../../audit/audit-record';
import { CliError } from '../cli-error';
import { clientsFor } from '../aws-clients';
import { parseTimePoint } from '../duration';
import { coloursFor, oneLine, renderTable, startProgress, writeJson, writeLine, type CliIo } from '../output';
import { resolveTarget, type TargetOptions } from '../stack-target';

export interface AuditOptions extends TargetOptions {
  incident?: string;
  since?: string;
  until?: string;
  action?: string;
  outcome?: string;
  limit?: string;
  json?: boolean;
}

export const AUDIT_ACTIONS: AuditAction[] = ['acknowledge', 'note', 'escalate', 'resolve', 'events-api', 'record', 'triage', 'handback'];
export const AUDIT_OUTCOMES: AuditOutcome[] = ['intent', 'succeeded', 'already-done', 'failed', 'skipped', 'recorded'];

function oneOf<T extends string>(value: string | undefined, allowed: T[], option: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as string[]).includes(value))
    throw new CliError(`${option} "${value}" is not known.`, `Use one of: ${allowed.join(', ')}.`);
  return value as T;
}

/** Audit rows as a table for people: time, incident, action, outcome, HTTP status and why. */
export function auditTable(items: AuditItem[], colour: boolean): string {
  return renderTable(
    ['at (UTC)', 'incident', 'action', 'outcome', 'http', 'detail'],
    items.map((item) => [
      item.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      item.incidentId,
      item.action,
      item.outcome,
      item.httpStatus,
      oneLine(item.decision ?? item.hypothesisSummary ?? item.detail ?? item.eventType, 60),
    ]),
    { colour },
  );
}

export async function auditCommand(options: AuditOptions, io: CliIo): Promise<void> {
  const action = oneOf(options.action, AUDIT_ACTIONS, '--action');
  const outcome = oneOf(options.outcome, AUDIT_OUTCOMES, '--outcome');
  const limit = options.limit === undefined ? 500 : Number(options.limit);
  if (!Number.isInteger(limit) || limit <= 0)
    throw new CliError(`--limit "${options.limit}" is not a positive whole number.`, 'Give e.g. --limit 100.');
  if (options.incident === undefined && options.since === undefined) {
    throw new CliError('Nothing to look up.', 'Pass --incident <id>, or a time range with --since 24h (and optionally --until).');
  }
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  const progress = startProgress(io, `Reading the audit trail of ${target.name}`);
  const items: AuditItem[] = [];
  try {
    if (options.incident !== undefined && options.since === undefined) {
      let cursor: string | undefined;
      do {
        const page = await clients.audit.byIncident(options.incident, { cursor });
        items.push(
          ...page.items.filter(
            (item) => (action === undefined || item.action === action) && (outcome === undefined || item.outcome === outcome),
          ),
        );
        cursor = page.nextCursor;
      } while (cursor !== undefined && items.length < limit);
    } else {
      const now = new Date();
      const since = parseTimePoint(options.since as string, '--since', now);
      const until = options.until === undefined ? now : parseTimePoint(options.until, '--until', now);
      if (since > until) throw new CliError('--since is after --until.', 'Swap them, or use a duration ago such as --since 24h.');
      let cursor: string | undefined;
      do {
        const page = await clients.audit.byTimeRange(since, until, { action, outcome, incidentId: options.incident, cursor });
        items.push(...page.items);
        progress.update(`Reading the audit trail of ${target.name}: ${items.length} rows`);
        cursor = page.nextCursor;
      } while (cursor !== undefined && items.length < limit);
    }
  } finally {
    progress.stop();
    clients.destroy();
  }
  const shown = items.slice(0, limit);
  if (options.json === true) {
    writeJson(io, shown);
    return;
  }
  const colours = coloursFor(io.stdout, io.env);
  if (shown.length === 0) {
    writeLine(io.stdout, colours.yellow('No audit rows match.'));
    return;
  }
  writeLine(io.stdout, auditTable(shown, io.stdout.isTTY === true));
  writeLine(io.stdout, colours.dim(`${shown.length} row(s)${items.length > limit ? ` (first ${limit}; raise --limit for more)` : ''}`));
}
