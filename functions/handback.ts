import { SQSClient } from '@aws-sdk/client-sqs';
import { buildAgentRuntime, sharedAgentDeps } from '../lib/agent/agent-runtime';
import { DeadLetterHandback, createHandbackHandler } from '../lib/agent/handback';
import { createTelemetry } from '../lib/observability/telemetry';

const { logger, metrics } = createTelemetry('handback');
const handback = new DeadLetterHandback(sharedAgentDeps(buildAgentRuntime(), metrics));

export const handler = createHandbackHandler({ handback, sqs: new SQSClient({}), logger, metrics });
