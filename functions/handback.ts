import { SQSClient } from '@aws-sdk/client-sqs';
import { buildAgentRuntime } from '../lib/agent/agent-runtime';
import { DeadLetterHandback, createHandbackHandler } from '../lib/agent/handback';
import { createNoteRenderer } from '../lib/agent/triage-notes';
import { createTelemetry } from '../lib/observability/telemetry';

const { logger, metrics } = createTelemetry('handback');
const runtime = buildAgentRuntime();

const handback = new DeadLetterHandback({
  env: runtime.env,
  settings: runtime.config,
  connect: runtime.connect,
  workLedger: runtime.workLedger,
  incidentLedger: runtime.incidentLedger,
  audit: runtime.audit,
  notes: createNoteRenderer(runtime.config.escalation.mode),
  metrics,
});

export const handler = createHandbackHandler({ handback, sqs: new SQSClient({}), logger, metrics });
