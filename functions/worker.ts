import { SQSClient } from '@aws-sdk/client-sqs';
import { buildAgentRuntime, sharedAgentDeps } from '../lib/agent/agent-runtime';
import { EventProcessor } from '../lib/agent/process-event';
import { createWorkerHandler } from '../lib/agent/worker-handler';
import { createTelemetry, ruleMetrics } from '../lib/observability/telemetry';
import { OutcomeRecorder } from '../lib/outcomes/outcome-recorder';
import { AwsClientCache } from '../lib/context/aws/clients';
import { sharedContextReader } from '../lib/context/shared-service-context';
import { triageIncident } from '../lib/triage/triage';

const { logger, metrics } = createTelemetry('worker');
const runtime = buildAgentRuntime();
// AWS context clients exist only in the worker, one set per region and role, created on first use.
const awsClients = new AwsClientCache();

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
  context: {
    aws: { config: runtime.config.context.aws, clientsFor: (target) => awsClients.get(target), workerRegion: process.env.AWS_REGION },
    shared: sharedContextReader(runtime.config.context.sharedSeconds, runtime.serviceContextCache, (error) =>
      logger.warn('The shared service context could not be used; the incident read its own', { error }),
    ),
  },
});

export const handler = createWorkerHandler({ processor, sqs: new SQSClient({}), queueUrl: process.env.QUEUE_URL, logger, metrics });
