import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../audit/audit-log';
import { parseAgentConfig, type AgentConfig } from '../config/agent-config';
import { DEFAULT_PAGERDUTY_API_URL, DEFAULT_PAGERDUTY_EVENTS_URL, optionalEnv, requireEnv } from '../config/runtime-env';
import { authFollowingSecret } from '../pagerduty/auth';
import { createEventsClient } from '../pagerduty/events-client';
import { RateLimitPacer } from '../pagerduty/rate-limit-pacer';
import { createPagerDutyClient } from '../pagerduty/rest-client';
import { OutcomeStore } from '../outcomes/outcome-store';
import { SecretSource } from '../secrets/secret-source';
import { DynamoIncidentLedger } from '../state/incident-ledger';
import { DynamoWorkLedger } from '../state/work-ledger';
import { createBedrockRefiner, type RefinementResult } from '../triage/bedrock-refiner';
import type { Hypothesis, IncidentContext } from '../triage/types';
import type { AgentConnection } from './agent-ports';
import type { MetricsSink } from './agent-ports';
import type { HandbackDeps } from './handback';
import { createNoteRenderer } from './triage-notes';
import { DynamoServiceContextCache } from '../state/service-context-cache';

/**
 * What the worker and the handback function build from the runtime contract's environment variables, once per
 * execution environment: tables, the audit log, the policy, and a PagerDuty connection rebuilt only when the secret
 * changes (rotation).
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
  /** Service context shared by the incidents of a burst (worker only). */
  serviceContextCache: DynamoServiceContextCache;
  refine?: (hypothesis: Hypothesis, context: IncidentContext) => Promise<RefinementResult>;
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

export function buildAgentRuntime(env: NodeJS.ProcessEnv = process.env): AgentRuntime {
  const agentEnv = requireEnv('AGENT_ENV', env);
  const config = parseAgentConfig(env.AGENT_CONFIG);
  const secretId = requireEnv('SECRET_ID', env);
  const apiUrl = optionalEnv('PAGERDUTY_API_URL', DEFAULT_PAGERDUTY_API_URL, env);
  const eventsUrl = optionalEnv('PAGERDUTY_EVENTS_URL', DEFAULT_PAGERDUTY_EVENTS_URL, env);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const secrets = new SecretSource({ client: new SecretsManagerClient({}), secretId });
  const events = createEventsClient({ eventsUrl });

  // One credential that follows the secret through rotations, and one pacer for it, for the environment's lifetime;
  // the client is rebuilt only if the agent's identity changes.
  const auth = authFollowingSecret(secrets, { apiUrl, secretId });
  const pacer = new RateLimitPacer();
  let cached: { identity: string; connection: AgentConnection } | undefined;
  const connect = async (): Promise<AgentConnection> => {
    const secret = await secrets.getAgentSecret();
    const identity = `${secret.fromEmail}|${secret.botUserId}|${secret.eventsRoutingKey ?? ''}`;
    if (cached?.identity !== identity) {
      const api = createPagerDutyClient({ apiUrl, auth, fromEmail: secret.fromEmail });
      cached = { identity, connection: { api, events, botUserId: secret.botUserId, eventsRoutingKey: secret.eventsRoutingKey, pacer } };
    }
    return cached.connection;
  };

  const bedrock = config.triage.bedrock;
  const refiner = bedrock.enabled
    ? createBedrockRefiner({
        client: new BedrockRuntimeClient(bedrock.region === undefined ? {} : { region: bedrock.region }),
        modelId: bedrock.modelId,
        deadlineMs: bedrock.deadlineMs,
        holdMinConfidence: config.triage.holdMinConfidence,
      })
    : undefined;

  return {
    env: agentEnv,
    config,
    workLedger: new DynamoWorkLedger(documents, requireEnv('STATE_TABLE', env)),
    incidentLedger: new DynamoIncidentLedger(documents, requireEnv('STATE_TABLE', env)),
    audit: new AuditLog(documents, requireEnv('AUDIT_TABLE', env), agentEnv, config.audit.retentionDays),
    outcomes: new OutcomeStore(documents, requireEnv('AUDIT_TABLE', env), agentEnv, config.audit.retentionDays),
    connect,
    serviceContextCache: new DynamoServiceContextCache(documents, requireEnv('STATE_TABLE', env)),
    refine: refiner === undefined ? undefined : (hypothesis, context) => refiner.refine(context, hypothesis),
  };
}
