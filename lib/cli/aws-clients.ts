import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../audit/audit-log';
import { OutcomeStore } from '../outcomes/outcome-store';
import { DemotionStore } from '../trust/demotion-store';
import type { StackTarget } from './stack-target';

/** SDK clients for a target: the local emulators' endpoints, or AWS with the default credential chain. */
export interface TargetClients {
  secrets: SecretsManagerClient;
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
  audit: AuditLog;
  /** Outcome and feedback items, in the audit table. */
  outcomes: OutcomeStore;
  /** Demoted and promoted rules, in the state table. */
  demotions: DemotionStore;
  destroy(): void;
}

export function clientsFor(target: StackTarget): TargetClients {
  const common = { region: target.region, ...(target.credentials === undefined ? {} : { credentials: target.credentials }) };
  const secrets = new SecretsManagerClient({
    ...common,
    ...(target.endpoints.secretsManager === undefined ? {} : { endpoint: target.endpoints.secretsManager }),
  });
  const sqs = new SQSClient({ ...common, ...(target.endpoints.sqs === undefined ? {} : { endpoint: target.endpoints.sqs }) });
  const rawDynamo = new DynamoDBClient({
    ...common,
    ...(target.endpoints.dynamodb === undefined ? {} : { endpoint: target.endpoints.dynamodb }),
  });
  const dynamo = DynamoDBDocumentClient.from(rawDynamo);
  return {
    secrets,
    sqs,
    dynamo,
    audit: new AuditLog(dynamo, target.auditTable, target.name),
    outcomes: new OutcomeStore(dynamo, target.auditTable, target.name),
    demotions: new DemotionStore(dynamo, target.stateTable),
    destroy() {
      secrets.destroy();
      sqs.destroy();
      rawDynamo.destroy();
    },
  };
}
