import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AgentConnection, MetricsSink } from '../agent/agent-ports';
import type { HandbackDeps } from '../agent/handback';
import { createNoteRenderer } from '../agent/triage-notes';
import { AuditLog } from '../audit/audit-log';
import { parseAgentConfig, type AgentConfig } from '../config/agent-config';
import { ruleMetrics, type Telemetry } from '../observability/telemetry';
import { DEFAULT_PAGERDUTY_API_URL, DEFAULT_PAGERDUTY_EVENTS_URL, optionalEnv, requireEnv } from '../config/runtime-env';
import { authFollowingSecret } from '../pagerduty/auth';
import { createEventsClient } from '../pagerduty/events-client';
import { RateLimitPacer } from '../pagerduty/rate-limit-pacer';
import { createPagerDutyClient } from '../pagerduty/rest-client';
import { OutcomeRecorder } from '../outcomes/outcome-recorder';
import { OutcomeStore } from '../outcomes/outcome-store';
import type { PagerDutyApi } from '../pagerduty/types';
import type { AgentSecret } from '../secrets/agent-secret';
import { SecretSource } from '../secrets/secret-source';
import { DynamoIncidentLedger } from '../state/incident-ledger';
import { DynamoRequestQuota } from '../requests/request-quota';
import { DynamoWorkLedger } from '../state/work-ledger';
import { createBedrockRefiner, type RefinementResult } from '../triage/bedrock-refiner';
import type { Hypothesis, IncidentContext } from '../triage/types';
import { DynamoServiceContextCache } from '../state/service-context-cache';
import { RuleCircuitBreaker } from '../trust/circuit-breaker';
import { DemotionStore } from '../trust/demotion-store';
import { ruleTrustFor, type Demotion, type RuleTrust } from '../trust/rule-trust';

/**
 * What the worker and the handback function build from the runtime contract's environment variables, once per
 * execution environment: tables, the audit log, the policy, and a PagerDuty connection rebuilt only when the secret
 * changes (rotation). The Lambda entry points, the tests and the benchmarks all build it here; tests inject clients
 * pointed at local emulators and wrap the built parts to inject faults.
 */
export interface AgentRuntime {
  env: string;
  config: AgentConfig;
  workLedger: DynamoWorkLedger;
  incidentLedger: DynamoIncidentLedger;
  audit: AuditLog;
  /** Outcome and feedback items, in the audit table beside the audit trail. */
  outcomes: OutcomeStore;
  connect: () => Promise<AgentConnection>;
  /** Which rules are demoted (lib/trust/demotion-store.ts), in the state table. */
  demotions: DemotionStore;
  /** Service context shared by the incidents of a burst (worker only). */
  serviceContextCache: DynamoServiceContextCache;
  /** How many `pd-agent:` requests each incident had answered in the current window (worker only). */
  requestQuota: DynamoRequestQuota;
  refine?: (hypothesis: Hypothesis, context: IncidentContext) => Promise<RefinementResult>;
}

/**
 * The AWS clients the worker and the handback use; each defaults to one built from the Lambda's own environment. AWS
 * context clients (CloudWatch, CloudTrail, Logs) for the gather step join here.
 */
export interface AgentClients {
  dynamodb?: DynamoDBClient;
  secretsManager?: SecretsManagerClient;
  bedrock?: BedrockRuntimeClient;
  /** The batch handler's, for visibility changes of deferred messages. */
  sqs?: SQSClient;
}

/** Where the agent's credentials come from: by default SECRET_ID, read through Secrets Manager and its cache. */
export interface AgentSecretReader {
  getAgentSecret(options?: { refresh?: boolean }): Promise<AgentSecret>;
}

/** Wrappers around built parts (fault injection, call recording); production wraps nothing. */
export interface AgentDecorators {
  workLedger?: (ledger: DynamoWorkLedger) => DynamoWorkLedger;
  incidentLedger?: (ledger: DynamoIncidentLedger) => DynamoIncidentLedger;
  audit?: (audit: AuditLog) => AuditLog;
  pagerDuty?: (api: PagerDutyApi) => PagerDutyApi;
}

export interface AgentRuntimeOptions {
  /** The runtime contract's variables (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  clients?: AgentClients;
  agentSecrets?: AgentSecretReader;
  decorate?: AgentDecorators;
}

/** What the worker's and the handback's builders take besides their own tuning. */
export interface AgentFunctionOptions extends AgentRuntimeOptions {
  telemetry?: Telemetry;
}

/** What the worker's EventProcessor and the handback's DeadLetterHandback both take from the runtime. */
export function sharedAgentDeps(runtime: AgentRuntime, metrics: MetricsSink): HandbackDeps & { settings: AgentConfig } {
  return {
    env: runtime.env,
    settings: runtime.config,
    connect: runtime.connect,
    workLedger: runtime.workLedger,
    incidentLedger: runtime.incidentLedger,
    audit: runtime.audit,
    notes: createNoteRenderer(runtime.config),
    metrics,
  };
}

/**
 * What became of triaged incidents, over the runtime's ledger and audit table: the worker records resolves, reopens
 * and feedback notes; the handback the feedback notes that were dead-lettered.
 */
export function outcomeRecorderFor(runtime: AgentRuntime, metrics: Telemetry['metrics']): OutcomeRecorder {
  return new OutcomeRecorder({
    incidentLedger: runtime.incidentLedger,
    audit: runtime.audit,
    store: runtime.outcomes,
    metrics,
    ruleMetrics: ruleMetrics(metrics),
    breaker: new RuleCircuitBreaker({
      demotions: runtime.demotions,
      outcomes: runtime.outcomes,
      audit: runtime.audit,
      metrics,
      settings: runtime.config.trust,
    }),
  });
}

/** The rules' trust for one incident: the configured rules' demotions in one batch read, and the holdout. */
export function ruleTrustReader(runtime: AgentRuntime): (incidentId: string) => Promise<RuleTrust> {
  const ruleIds = runtime.config.triage.rules.map((rule) => rule.id);
  return async (incidentId) => {
    const demoted = ruleIds.length === 0 ? new Map<string, Demotion>() : await runtime.demotions.demoted(ruleIds);
    return ruleTrustFor(incidentId, demoted, runtime.config.trust);
  };
}

const same = <T>(value: T): T => value;

export function buildAgentRuntime(options: AgentRuntimeOptions = {}): AgentRuntime {
  const env = options.env ?? process.env;
  const clients = options.clients ?? {};
  const decorate = options.decorate ?? {};
  const agentEnv = requireEnv('AGENT_ENV', env);
  const config = parseAgentConfig(env.AGENT_CONFIG);
  const secretId = requireEnv('SECRET_ID', env);
  const stateTable = requireEnv('STATE_TABLE', env);
  const apiUrl = optionalEnv('PAGERDUTY_API_URL', DEFAULT_PAGERDUTY_API_URL, env);
  const eventsUrl = optionalEnv('PAGERDUTY_EVENTS_URL', DEFAULT_PAGERDUTY_EVENTS_URL, env);
  const documents = DynamoDBDocumentClient.from(clients.dynamodb ?? new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const secrets = options.agentSecrets ?? new SecretSource({ client: clients.secretsManager ?? new SecretsManagerClient({}), secretId });
  const events = createEventsClient({ eventsUrl });

  // One credential that follows the secret through rotations, and one pacer for it, for the environment's lifetime;
  // the client is rebuilt only if the agent's identity changes.
  const auth = authFollowingSecret(secrets, { apiUrl, secretId });
  const pacer = new RateLimitPacer();
  const decoratePagerDuty = decorate.pagerDuty ?? same;
  let cached: { identity: string; connection: AgentConnection } | undefined;
  const connect = async (): Promise<AgentConnection> => {
    const secret = await secrets.getAgentSecret();
    const identity = `${secret.fromEmail}|${secret.botUserId}|${secret.eventsRoutingKey ?? ''}|${secret.fallbackRoutingKey ?? ''}`;
    if (cached?.identity !== identity) {
      const api = decoratePagerDuty(createPagerDutyClient({ apiUrl, auth, fromEmail: secret.fromEmail }));
      cached = {
        identity,
        connection: {
          api,
          events,
          botUserId: secret.botUserId,
          eventsRoutingKey: secret.eventsRoutingKey,
          fallbackRoutingKey: secret.fallbackRoutingKey,
          pacer,
        },
      };
    }
    return cached.connection;
  };

  const bedrock = config.triage.bedrock;
  const refiner = bedrock.enabled
    ? createBedrockRefiner({
        client: clients.bedrock ?? new BedrockRuntimeClient(bedrock.region === undefined ? {} : { region: bedrock.region }),
        modelId: bedrock.modelId,
        deadlineMs: bedrock.deadlineMs,
        holdMinConfidence: config.triage.holdMinConfidence,
      })
    : undefined;

  return {
    env: agentEnv,
    config,
    workLedger: (decorate.workLedger ?? same)(new DynamoWorkLedger(documents, stateTable)),
    incidentLedger: (decorate.incidentLedger ?? same)(new DynamoIncidentLedger(documents, stateTable)),
    audit: (decorate.audit ?? same)(new AuditLog(documents, requireEnv('AUDIT_TABLE', env), agentEnv, config.audit.retentionDays)),
    outcomes: new OutcomeStore(documents, requireEnv('AUDIT_TABLE', env), agentEnv, config.audit.retentionDays),
    connect,
    demotions: new DemotionStore(documents, stateTable),
    serviceContextCache: new DynamoServiceContextCache(documents, requireEnv('STATE_TABLE', env)),
    requestQuota: new DynamoRequestQuota(documents, stateTable, config.requests),
    refine: refiner === undefined ? undefined : (hypothesis, context) => refiner.refine(context, hypothesis),
  };
}
