import { SQSClient } from '@aws-sdk/client-sqs';
import { buildAgentRuntime } from '../lib/agent/agent-runtime';
import { EventProcessor } from '../lib/agent/process-event';
import { createNoteRenderer } from '../lib/agent/triage-notes';
import { createWorkerHandler } from '../lib/agent/worker-handler';
import { createTelemetry } from '../lib/observability/telemetry';
import { triageIncident } from '../lib/triage/triage';

const { logger, metrics } = createTelemetry('worker');
const runtime = buildAgentRuntime();

const processor = new EventProcessor({
  env: runtime.env,
  settings: runtime.config,
  connect: runtime.connect,
  workLedger: runtime.workLedger,
  incidentLedger: runtime.incidentLedger,
  audit: runtime.audit,
  notes: createNoteRenderer(runtime.config.escalation.mode),
  triage: (context) => triageIncident(context, runtime.config.triage),
  refine: runtime.refine,
  metrics,
});

export const handler = createWorkerHandler({ processor, sqs: new SQSClient({}), queueUrl: process.env.QUEUE_URL, logger, metrics });
