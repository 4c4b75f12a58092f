// A namespace import lets esbuild tree-shake zod (`import { z }` keeps all of it, every locale included: +400 KB).
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';
import { AgentConfigError, configJson, filterProblems, filtersField, schemaProblems, urgencySchema } from './filters-config';
import { MIN_EXTERNAL_ID_CHARS } from '../context/aws/read-role-contract';

z.config(en());

export { AgentConfigError, type EventFilters } from './filters-config';

/**
 * The per-environment policy (`AGENT_CONFIG`): which events the agent takes on, how it triages them and how it hands
 * incidents back. Every field has a default, so an environment with no `AGENT_CONFIG` gets a cautious agent: it takes
 * every incident, holds only what a rule is confident about and escalates everything else to humans.
 */

const ruleSchema = z.object({
  id: z.string().check(z.minLength(1)),
  match: z._default(
    z.object({
      services: z.optional(z.array(z.string())),
      /** An RE2 regular expression tested against the incident title (case-insensitive; see rule-patterns.ts). */
      title: z.optional(z.string()),
      /** Alert `body.details` (custom details) field name to an RE2 regular expression its value must match. */
      alertFields: z.optional(z.record(z.string(), z.string())),
      urgency: z.optional(urgencySchema),
      priorities: z.optional(z.array(z.string())),
    }),
    {},
  ),
  hypothesis: z.string().check(z.minLength(1)),
  runbook: z.optional(z.url()),
  confidence: z.number().check(z.gte(0), z.lte(1)),
  action: z.enum(['escalate', 'hold', 'resolve-if-cleared']),
  nextSteps: z._default(z.array(z.string()), []),
});

const triageSchema = z.object({
  rules: z._default(z.array(ruleSchema), []),
  /** Below this confidence the agent never holds an incident: it hands it to humans. */
  holdMinConfidence: z._default(z.number().check(z.gte(0), z.lte(1)), 0.7),
  /** Minutes before the trigger in which a change event counts as a likely cause. */
  changeWindowMinutes: z._default(z.number().check(z.int(), z.positive()), 60),
  /** Days of past incidents on the same service searched for recurrence. */
  recurrenceWindowDays: z._default(z.number().check(z.int(), z.positive()), 14),
  /** Incidents with a similar title in the window that make an incident flapping. */
  flappingThreshold: z._default(z.number().check(z.int(), z.positive()), 3),
  /** Hours within which repeated similar incidents count as flapping. */
  flappingWindowHours: z._default(z.number().check(z.int(), z.positive()), 6),
  /**
   * Minutes the agent holds an incident before it looks again: still open, held by the agent and its alerts not cleared,
   * it is escalated with a short note (lib/agent/scheduled-check.ts). At most 24 h.
   */
  holdMinutes: z._default(z.number().check(z.int(), z.positive(), z.lte(24 * 60)), 30),
  bedrock: z._default(
    z.object({
      enabled: z._default(z.boolean(), false),
      modelId: z._default(z.string(), 'anthropic.claude-3-5-haiku-20241022-v1:0'),
      region: z.optional(z.string()),
      deadlineMs: z._default(z.number().check(z.int(), z.positive()), 4000),
    }),
    { enabled: false, modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0', deadlineMs: 4000 },
  ),
});

/** Follow-ups (lib/agent/scheduled-check.ts): the agent looks again at a triaged incident that is still open. */
const followUpSchema = z.object({
  /** Minutes after the first note (and between follow-ups) before the agent looks again. At most 24 h. */
  afterMinutes: z._default(z.number().check(z.int(), z.positive(), z.lte(24 * 60)), 15),
  /** Follow-ups per incident at most; 0 turns them off. */
  max: z._default(z.number().check(z.int(), z.gte(0), z.lte(10)), 2),
});

/** `pd-agent:` requests (lib/requests/): answers per incident within one window, at most. */
const requestsSchema = z.object({
  /** Answers per incident per window; requests beyond it are audited, not answered. 0 answers none. */
  maxAnswers: z._default(z.number().check(z.int(), z.gte(0), z.lte(50)), 5),
  windowMinutes: z._default(z.number().check(z.int(), z.positive(), z.lte(24 * 60)), 10),
});

/**
 * Rules that earn and lose trust (lib/trust/): a rule whose record turns bad is demoted until a person promotes it, and
 * a share of the incidents a rule would hold is left with on-call, to compare against.
 */
const trustSchema = z.object({
  /** Below this precision over a rule's last TRUST_PRECISION_WINDOW judged outcomes, the rule is demoted. */
  minPrecision: z._default(z.number().check(z.gte(0), z.lte(1)), 0.9),
  /** The share of the incidents a rule would hold that the agent leaves with on-call instead (note only). At most a half. */
  holdout: z._default(z.number().check(z.gte(0), z.lte(0.5)), 0.05),
  /** How far back a rule's record is read when an outcome contradicts it (days, at most the audit retention). */
  lookbackDays: z._default(z.number().check(z.int(), z.positive(), z.lte(90)), 30),
});

const escalationSchema = z.object({
  /**
   * `escalation_policy` reassigns the incident to its escalation policy (level 1 is paged again);
   * `next_level` raises it to the next escalation level.
   */
  mode: z._default(z.enum(['escalation_policy', 'next_level']), 'escalation_policy'),
});

/**
 * Which triggering incidents the agent acknowledges as itself when it starts triaging (docs/configuration.md):
 * - `agent-first`: those PagerDuty assigned to the agent alone or to nobody (its user is first in the escalation
 *   policy: nobody else was paged, so the acknowledgement is silent to the team), and those a rule could keep;
 *   an incident PagerDuty already pages people for stays with them, with the note only.
 * - `always`: every one, whoever was paged.
 * - `may-keep`: only those a rule could keep.
 * Observe and note modes never acknowledge, whatever this says.
 */
export const ACKNOWLEDGE_SETTINGS = ['agent-first', 'always', 'may-keep'] as const;

const auditSchema = z.object({
  /** Days an audit item is kept (its `expiresAt` TTL). The CDK stack sets it from cdk.json `auditRetentionDays`. */
  retentionDays: z._default(z.number().check(z.int(), z.positive()), 400),
});

/**
 * How far the agent may act (docs/rollout-and-outcomes.md), per environment with per-service overrides. A service
 * entry replaces the environment's setting as a whole (its `sampleRate` defaults to 1, not to the environment's), so
 * a service promoted to `act` is never silently sampled by the environment's observation rate.
 */
export const ROLLOUT_MODES = ['observe', 'note', 'act'] as const;
const rolloutMode = z.enum(ROLLOUT_MODES);
const sampleRate = z.number().check(z.gte(0), z.lte(1));
const rolloutStageSchema = z.object({
  mode: rolloutMode,
  /** Fraction of incidents the agent takes on (chosen from a hash of the incident id); the rest it leaves alone. */
  sampleRate: z._default(sampleRate, 1),
});
const rolloutSchema = z.object({
  ...rolloutStageSchema.shape,
  /** PagerDuty service id to that service's own mode and sample rate. */
  services: z._default(z.record(z.string().check(z.minLength(1)), rolloutStageSchema), {}),
});

// --- context providers (docs/context-providers.md) ---------------------------------------------------------------

/** What a PagerDuty service's alerts cannot say: where its AWS resources live and what to watch. */
const awsServiceMappingSchema = z
  .object({
    /**
     * AWS region of the service's resources. When set it wins: an alert naming another region is said so in the note,
     * never followed. Unset: the worker's region, or the region of the alert's alarm ARN when that alarm exists there.
     */
    region: z.optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/))),
    /** The workload account, when it is not the agent's. */
    accountId: z.optional(z.string().check(z.regex(/^\d{12}$/))),
    /** A read-only role in that account (cdk/constructs/context-read-role.ts), assumed for every AWS read. */
    roleArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/))),
    /** The external id the role's trust policy requires: at least MIN_EXTERNAL_ID_CHARS characters. */
    externalId: z.optional(
      z
        .string()
        .check(
          z.minLength(
            MIN_EXTERNAL_ID_CHARS,
            `an external id has at least ${MIN_EXTERNAL_ID_CHARS} characters: generate one, e.g. openssl rand -hex 16`,
          ),
          z.maxLength(1224),
        ),
    ),
    /** Log groups searched for surging errors (a Lambda function's own group is found without this). */
    logGroups: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(512))), []),
    /** CloudFormation stacks whose changes count as changes to the service. */
    stacks: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(128))), []),
    /**
     * Further CloudTrail resource names (functions, services, tables, ARNs…) whose changes count. When the list is not
     * empty it is also the allowlist of alarmed resources: an alarm on a resource it does not name (exactly, or by a
     * prefix written with a trailing `*`, which is never looked up itself) is reported and nothing is read for it.
     */
    resources: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(2048))), []),
    /** When set, the only log groups the service's incidents may read: each read group starts with one of them. */
    logGroupPrefixes: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(512))), []),
  })
  .check(
    z.refine((mapping) => mapping.roleArn === undefined || mapping.externalId !== undefined, {
      message: 'a roleArn needs the externalId its trust policy requires (context.aws.services.<id>.externalId)',
    }),
  );

const awsContextSchema = z.object({
  enabled: z._default(z.boolean(), true),
  /** Minutes before the trigger searched for changes (CloudTrail). */
  lookbackMinutes: z._default(z.number().check(z.int(), z.positive(), z.lte(24 * 60)), 60),
  /** PagerDuty service id → its AWS mapping. */
  services: z._default(z.record(z.string(), awsServiceMappingSchema), {}),
  /**
   * The regions an unmapped service's alarm may be read in (the region of its ARN, when the alarm exists there).
   * Absent: any region; the worker's own region is always allowed.
   */
  regions: z.optional(z.array(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/))).check(z.minLength(1))),
});

const contextSchema = z.object({
  aws: z._default(awsContextSchema, { enabled: true, lookbackMinutes: 60, services: {} }),
  /**
   * Seconds a service's context (recent incidents, change events, on-calls, past notes) read for one incident is shared
   * with the other incidents of a burst on that service, and the window bursts are counted in; 0: every incident reads its own.
   */
  sharedSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(900)), 180),
});

/** A host name as URLs carry it: letters, digits, dots and hyphens, at least one dot (`grafana.acme.example`). */
const hostSchema = z.string().check(
  z.regex(/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/, {
    message: 'a trusted host is a lower-case host name such as grafana.acme.example (no scheme, port, path or wildcard)',
  }),
);

const linksSchema = z.object({
  /**
   * Hosts whose URLs stay clickable when outside text (alert details, change events, model output) carries them, for
   * example a team's Grafana or Datadog host; any other URL in outside text is shown defanged (lib/triage/plain-text.ts).
   */
  trustedHosts: z._default(z.array(hostSchema), []),
});

// ------------------------------------------------------------------------------------------------------------------

export const agentConfigSchema = z.object({
  agentName: z._default(z.string().check(z.minLength(1)), 'pd-agent'),
  filters: filtersField,
  triage: z._default(triageSchema, {
    rules: [],
    holdMinConfidence: 0.7,
    changeWindowMinutes: 60,
    recurrenceWindowDays: 14,
    flappingThreshold: 3,
    flappingWindowHours: 6,
    holdMinutes: 30,
    bedrock: { enabled: false, modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0', deadlineMs: 4000 },
  }),
  escalation: z._default(escalationSchema, { mode: 'escalation_policy' }),
  acknowledge: z._default(z.enum(ACKNOWLEDGE_SETTINGS), 'agent-first'),
  followUp: z._default(followUpSchema, { afterMinutes: 15, max: 2 }),
  requests: z._default(requestsSchema, { maxAnswers: 5, windowMinutes: 10 }),
  trust: z._default(trustSchema, { minPrecision: 0.9, holdout: 0.05, lookbackDays: 30 }),
  audit: z._default(auditSchema, { retentionDays: 400 }),
  /** Absent: the agent acts fully, as before rollout modes existed. */
  rollout: z.optional(rolloutSchema),
  context: z._default(contextSchema, { aws: { enabled: true, lookbackMinutes: 60, services: {} }, sharedSeconds: 180 }),
  links: z._default(linksSchema, { trustedHosts: [] }),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type TriageRule = AgentConfig['triage']['rules'][number];
export type TriagePolicy = AgentConfig['triage'];
export type RuleAction = TriageRule['action'];
export type AcknowledgeSetting = AgentConfig['acknowledge'];
export type RolloutConfig = NonNullable<AgentConfig['rollout']>;
export type RolloutMode = RolloutConfig['mode'];
export type FollowUpConfig = AgentConfig['followUp'];
export type RequestsConfig = AgentConfig['requests'];
export type TrustConfig = AgentConfig['trust'];
export type AwsContextConfig = AgentConfig['context']['aws'];
export type AwsServiceMapping = AwsContextConfig['services'][string];

/** Parses an `AGENT_CONFIG` value; `undefined` or empty gives the defaults. Throws AgentConfigError with every problem. */
export function parseAgentConfig(raw: string | undefined, source = 'AGENT_CONFIG'): AgentConfig {
  return validateAgentConfig(configJson(raw, source), source);
}

/**
 * Validates a configuration. `checkRules` adds the checks that need the rule engine (RE2 patterns, rule-patterns.ts):
 * synth passes them; the worker's runtime parse does without them.
 */
export function validateAgentConfig(
  value: unknown,
  source = 'AGENT_CONFIG',
  checkRules: (config: AgentConfig) => string[] = () => [],
): AgentConfig {
  const result = agentConfigSchema.safeParse(value);
  if (!result.success) throw new AgentConfigError(source, schemaProblems(result.error));
  const config = result.data;
  const problems = filterProblems(config.filters);
  problems.push(...checkRules(config));
  const ids = config.triage.rules.map((rule) => rule.id);
  const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
  if (duplicate !== undefined) problems.push(`rule id "${duplicate}" is used twice`);
  if (problems.length > 0) throw new AgentConfigError(source, problems.join('; '));
  return config;
}
