import { App, CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MIN_EXTERNAL_ID_CHARS } from '../lib/context/aws/read-role-contract';
import { ContextReadRole } from './constructs/context-read-role';

/** A comma-separated context value as a list; unset or empty: undefined. */
function listFrom(app: App, key: string): string[] | undefined {
  const raw = app.node.tryGetContext(key) as string | undefined;
  const items = (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length === 0 ? undefined : items;
}

/**
 * A tiny separate app for workload accounts (docs/context-providers.md):
 *   npx cdk deploy --app "npx tsx cdk/context-read-role-app.ts" \
 *     -c workerRoleArn=arn:aws:iam::<agent account>:role/<worker role> -c externalId=<at least 16 characters> \
 *     [-c roleName=pd-agent-context-read] [-c serviceIds=PABC123,PDEF456] [-c regions=eu-west-1,eu-central-1] \
 *     [-c logGroupPrefixes=/aws/lambda/checkout-,/ecs/checkout] [-c alarmNamePrefixes=checkout-]
 */
export function buildContextReadRoleApp(app: App): Stack {
  const workerRoleArn = app.node.tryGetContext('workerRoleArn') as string | undefined;
  const externalId = app.node.tryGetContext('externalId') as string | undefined;
  const roleName = (app.node.tryGetContext('roleName') as string | undefined) ?? 'pd-agent-context-read';
  if (workerRoleArn === undefined || !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(workerRoleArn)) {
    throw new Error(
      'Pass the agent worker role ARN: -c workerRoleArn=arn:aws:iam::<account>:role/<name> (the WorkerRoleArn output of the agent stack).',
    );
  }
  if (externalId === undefined || externalId.length < MIN_EXTERNAL_ID_CHARS) {
    throw new Error(
      `Pass the external id the agent presents, at least ${MIN_EXTERNAL_ID_CHARS} characters: -c externalId=<id> ` +
        '(e.g. openssl rand -hex 16; the same value as AGENT_CONFIG context.aws.services.<id>.externalId).',
    );
  }
  const stack = new Stack(app, 'PdAgentContextReadRole', { description: "pd-agent: read-only role for the agent's AWS context providers" });
  const { role } = new ContextReadRole(stack, 'ContextReadRole', {
    workerRoleArn,
    externalId,
    roleName,
    serviceIds: listFrom(app, 'serviceIds'),
    regions: listFrom(app, 'regions'),
    logGroupPrefixes: listFrom(app, 'logGroupPrefixes'),
    alarmNamePrefixes: listFrom(app, 'alarmNamePrefixes'),
  });
  new CfnOutput(stack, 'ContextReadRoleArn', {
    value: role.roleArn,
    description: 'Map it as AGENT_CONFIG context.aws.services.<id>.roleArn',
  });
  return stack;
}

if (require.main === module) {
  try {
    const app = new App();
    buildContextReadRoleApp(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
