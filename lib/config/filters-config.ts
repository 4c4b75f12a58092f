// A namespace import lets esbuild tree-shake zod (`import { z }` keeps all of it, every locale included: +400 KB).
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

z.config(en());

/**
 * The part of `AGENT_CONFIG` the ingress reads: its filters (docs/configuration.md "Filters"). Apart from the rest of
 * the policy (agent-config.ts) so that the ingress bundles, parses and checks nothing else: a mistake in a worker-only
 * field cannot stop it from taking deliveries. The worker checks the whole configuration.
 */

const PRIORITY_DEFAULT_RANKS = ['P1', 'P2', 'P3', 'P4', 'P5'];

export const urgencySchema = z.enum(['high', 'low']);
const missingPolicy = z.enum(['pass', 'drop']);

const filtersSchema = z.object({
  /** Event types to take on; `incident.*` style wildcards allowed. Everything else is answered 200 and ignored. */
  eventTypes: z._default(z.array(z.string()), ['incident.*']),
  /** PagerDuty service ids; empty means every service. */
  services: z._default(z.array(z.string()), []),
  /** PagerDuty team ids; empty means every team. */
  teams: z._default(z.array(z.string()), []),
  /** What an incident with `teams: []` does when `teams` is set. */
  withoutTeams: z._default(missingPolicy, 'drop'),
  /** Lowest priority taken on, by rank in `priorityRanks` (P1 is the highest). Unset means every priority. */
  minPriority: z.optional(z.string()),
  /** What an incident with `priority: null` does when `minPriority` is set. */
  withoutPriority: z._default(missingPolicy, 'drop'),
  /** Priority names from highest to lowest, for accounts whose priorities are not named P1..P5. */
  priorityRanks: z._default(z.array(z.string()), PRIORITY_DEFAULT_RANKS),
  /** `high` takes on only high-urgency incidents; `low` takes on both. */
  minUrgency: z._default(urgencySchema, 'low'),
});

/** `AGENT_CONFIG.filters`, with its defaults. */
export const filtersField = z._default(filtersSchema, {
  eventTypes: ['incident.*'],
  services: [],
  teams: [],
  withoutTeams: 'drop',
  withoutPriority: 'drop',
  priorityRanks: PRIORITY_DEFAULT_RANKS,
  minUrgency: 'low',
});

export type EventFilters = z.infer<typeof filtersField>;

/** Only `filters`: other keys are neither read nor checked. */
const ingressConfigSchema = z.object({ filters: filtersField });

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
  constructor(
    readonly source: string,
    readonly problems: string,
  ) {
    super(`${source} is not a valid pd-agent configuration: ${problems}. Fix it (see docs/configuration.md "Configuration") and redeploy.`);
  }
}

/** The JSON of an `AGENT_CONFIG` value; `undefined` or empty is `{}`, which gives the defaults. */
export function configJson(raw: string | undefined, source: string): unknown {
  if (raw === undefined || raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new AgentConfigError(source, `not JSON (${(error as Error).message})`);
  }
}

export const schemaProblems = (error: z.core.$ZodError): string => z.prettifyError(error).replace(/\n\s*/g, ' ');

/** What the schema cannot say about filters. */
export function filterProblems(filters: EventFilters): string[] {
  const { minPriority, priorityRanks } = filters;
  if (minPriority === undefined || priorityRanks.includes(minPriority)) return [];
  return [`filters.minPriority "${minPriority}" is not one of filters.priorityRanks (${priorityRanks.join(', ')})`];
}

/**
 * The filters of an `AGENT_CONFIG` value, for the ingress. Only `filters` is validated; throws AgentConfigError naming
 * each wrong filter field (or when the value is not a JSON object at all).
 */
export function parseEventFilters(raw: string | undefined, source = 'AGENT_CONFIG'): EventFilters {
  const result = ingressConfigSchema.safeParse(configJson(raw, source));
  if (!result.success) throw new AgentConfigError(source, schemaProblems(result.error));
  const problems = filterProblems(result.data.filters);
  if (problems.length > 0) throw new AgentConfigError(source, problems.join('; '));
  return result.data.filters;
}
