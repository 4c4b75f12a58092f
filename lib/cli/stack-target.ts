import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { join } from 'node:path';
import { DEFAULT_PAGERDUTY_API_URL } from '../config/runtime-env';
import { stackNameFor, type StackOutputName } from '../infra/deployment-contract';
import { CliError } from './cli-error';
import { localStatePath, readLocalStackState } from './local-stack-state';

/** The resources of one environment the CLI acts on: a deployed stack or the running local stack. */
export interface StackTarget {
  /** `local` or the environment name. */
  name: string;
  kind: 'local' | 'aws';
  region: string;
  /** The PagerDuty credentials secret (SECRET_ID). */
  secretId: string;
  /** The webhook signing-secrets document (WEBHOOK_SECRET_ID); undefined for a stack deployed before the split. */
  webhookSecretId?: string;
  /** `migrating` while the stack's ingress may still read the credentials secret (cdk.json `webhookSecretLayout`). */
  webhookSecretLayout?: 'split' | 'migrating';
  auditTable: string;
  stateTable: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  webhookUrl: string;
  pagerDutyApiUrl: string;
  /** The local stack's PagerDuty sandbox is what `pagerDutyApiUrl` reaches: sandbox-only routes may be used. */
  pagerDutySandbox: boolean;
  /** Endpoint overrides for the local emulators; empty for AWS (the SDK's own configuration applies). */
  endpoints: { dynamodb?: string; sqs?: string; secretsManager?: string };
  /** Credentials for the local emulators (they accept any); undefined for AWS (the default provider chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface TargetOptions {
  env?: string;
  local?: boolean;
  region?: string;
  pagerdutyApiUrl?: string;
}

/** The repository root (where `npm start` writes its state), from this file's place in lib/cli. */
export const REPO_ROOT = join(__dirname, '..', '..');

/** The flags that choose this target again, for the commands a hint suggests. */
export const targetFlag = (target: StackTarget): string => (target.kind === 'local' ? '--local' : `--env ${target.name}`);

const REQUIRED_OUTPUTS: readonly StackOutputName[] = [
  'WebhookUrl',
  'StateTableName',
  'AuditTableName',
  'QueueUrl',
  'DeadLetterQueueUrl',
  'SecretName',
];

export async function resolveTarget(options: TargetOptions, processEnv: NodeJS.ProcessEnv, root = REPO_ROOT): Promise<StackTarget> {
  if ((options.local === true) === (options.env !== undefined)) {
    throw new CliError(
      options.local === true ? 'Both --local and --env were given.' : 'No environment was chosen.',
      'Pass --env <name> for a deployed stack (PdAgent-<name>), or --local for the stack `npm start` runs.',
    );
  }
  const apiUrlOverride = options.pagerdutyApiUrl ?? processEnv.PAGERDUTY_API_URL;
  if (options.local === true) {
    const state = readLocalStackState(root, processEnv);
    if (state === undefined) {
      throw new CliError(
        `No local stack is running (${localStatePath(root, processEnv)} does not exist).`,
        'Start it in another terminal with `npm start`, then run this again.',
      );
    }
    return {
      name: state.agentEnv,
      kind: 'local',
      region: state.region,
      secretId: state.secretId,
      webhookSecretId: state.webhookSecretId,
      webhookSecretLayout: 'split',
      auditTable: state.auditTable,
      stateTable: state.stateTable,
      queueUrl: state.queueUrl,
      deadLetterQueueUrl: state.deadLetterQueueUrl,
      webhookUrl: state.webhookUrl,
      pagerDutyApiUrl: apiUrlOverride ?? state.pagerDutyApiUrl,
      // An override that points elsewhere (real PagerDuty) turns the sandbox-only routes off.
      pagerDutySandbox: state.pagerDutySandbox === true && (apiUrlOverride ?? state.pagerDutyApiUrl) === state.pagerDutyApiUrl,
      endpoints: state.endpoints,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
  }
  const env = options.env as string;
  const region = options.region ?? processEnv.AWS_REGION ?? processEnv.AWS_DEFAULT_REGION;
  const cloudFormation = new CloudFormationClient(region === undefined ? {} : { region });
  let outputs: Partial<Record<StackOutputName, string>>;
  try {
    const answer = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackNameFor(env) }));
    const stack = answer.Stacks?.[0];
    outputs = Object.fromEntries((stack?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  } catch (error) {
    const message = (error as Error).message;
    throw new CliError(
      `Could not read stack ${stackNameFor(env)}: ${message}`,
      /region is missing/i.test(message)
        ? 'Pass --region <region> (the region the stack is deployed in), or set AWS_REGION or a region in your AWS profile.'
        : /does not exist/i.test(message)
          ? `Deploy it first (\`npx cdk deploy ${stackNameFor(env)}\`), or check --env and the AWS region (--region or AWS_REGION).`
          : 'Check your AWS credentials (AWS_PROFILE, `aws sts get-caller-identity`) and region.',
    );
  } finally {
    cloudFormation.destroy();
  }
  const output = (name: StackOutputName): string => outputs[name] ?? '';
  const missing = REQUIRED_OUTPUTS.filter((key) => output(key) === '');
  if (missing.length > 0) {
    throw new CliError(
      `Stack ${stackNameFor(env)} has no output ${missing.join(', ')}.`,
      'Redeploy it with this version of pd-agent (`npx cdk deploy`).',
    );
  }
  const layout = output('WebhookSecretLayout');
  return {
    name: env,
    kind: 'aws',
    region: region ?? (await cloudFormation.config.region()),
    secretId: output('SecretName'),
    ...(output('WebhookSecretName') === '' ? {} : { webhookSecretId: output('WebhookSecretName') }),
    ...(layout === 'migrating' || layout === 'split' ? { webhookSecretLayout: layout } : {}),
    auditTable: output('AuditTableName'),
    stateTable: output('StateTableName'),
    queueUrl: output('QueueUrl'),
    deadLetterQueueUrl: output('DeadLetterQueueUrl'),
    webhookUrl: output('WebhookUrl'),
    pagerDutyApiUrl: apiUrlOverride ?? DEFAULT_PAGERDUTY_API_URL,
    pagerDutySandbox: false,
    endpoints: {},
  };
}
