import { SQSClient } from '@aws-sdk/client-sqs';
import { buildAgentRuntime, sharedAgentDeps } from '../lib/agent/agent-runtime';
import { EventProcessor } from '../lib/agent/process-event';
import { createWorkerHandler } from '../lib/agent/worker-handler';
import { createTelemetry, ruleMetrics } from '../lib/observability/telemetry';
import { OutcomeRecorder } from '../lib/outcomes/outcome-recorder';
import { triageIncident } from '../lib/triage/triage';

const { logger, metrics } = createTelemetry('worker');
const runtime = buildAgentRuntime();

const processor = new EventProcessor({
  ...sharedAgentDeps(runtime, metrics),
  triage: (context) => triageIncident(context, runtime.config.triage),
  refine: runtime.refine,
  outcomes: new OutcomeRecorder({
    incidentLedger: runtime.incidentLedger,
    audit: runtime.audit,
    store: runtime.outcomes,
    metrics,
    ruleMetrics: ruleMetrics(metrics),
  }),
});

export const handler = createWorkerHandler({ processor, sqs: new SQSClient({}), queueUrl: process.env.QUEUE_URL, logger, metrics });
