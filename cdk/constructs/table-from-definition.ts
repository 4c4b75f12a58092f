import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { KeyAttribute, TableDefinition } from '../../lib/infra/resource-definitions';

const attribute = (key: KeyAttribute): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

export interface TableFromDefinitionProps {
  definition: TableDefinition;
  /** `retain`: deletion protection on and the table survives stack deletion. */
  removalPolicy: 'retain' | 'destroy';
}

/**
 * A DynamoDB table shaped by lib/infra/resource-definitions.ts, the same definition the local emulators use: keys,
 * GSIs and TTL attribute cannot drift between what is tested and what is deployed. On-demand, point-in-time recovery.
 */
export function tableFromDefinition(scope: Construct, id: string, props: TableFromDefinitionProps): dynamodb.Table {
  const { definition } = props;
  const retain = props.removalPolicy === 'retain';
  const table = new dynamodb.Table(scope, id, {
    partitionKey: attribute(definition.partitionKey),
    ...(definition.sortKey === undefined ? {} : { sortKey: attribute(definition.sortKey) }),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: definition.timeToLiveAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: retain,
    removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  for (const index of definition.globalSecondaryIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey === undefined ? {} : { sortKey: attribute(index.sortKey) }),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}
