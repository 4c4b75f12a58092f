import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { assumedRoleCredentials, AwsClientCache } from '../../../../lib/context/aws/clients';
import { contextSessionName } from '../../../../lib/context/aws/read-role-contract';

const ENDPOINTS = {
  AWS_ENDPOINT_URL_CLOUDWATCH: 'http://127.0.0.1:4101',
  AWS_ENDPOINT_URL_CLOUDTRAIL: 'http://127.0.0.1:4102',
  AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: 'http://127.0.0.1:4103',
};

/** What the test needs of any SDK client: its middleware stack and send. */
interface SdkClient {
  middlewareStack: {
    add(middleware: () => (args: { request: unknown }) => Promise<never>, options: { step: 'build'; priority: 'low' }): void;
  };
  send(command: object): Promise<unknown>;
}

/** The request the client would send, captured once the endpoint is resolved and before anything leaves the process. */
async function requestTarget(client: CloudWatchClient | CloudTrailClient | CloudWatchLogsClient, command: object): Promise<string> {
  const sdk = client as unknown as SdkClient;
  let target = '';
  sdk.middlewareStack.add(
    () => async (args) => {
      const request = args.request as { protocol: string; hostname: string; port?: number };
      target = `${request.protocol}//${request.hostname}:${request.port ?? ''}`;
      throw new Error('captured');
    },
    { step: 'build', priority: 'low' },
  );
  await expect(sdk.send(command)).rejects.toThrow('captured');
  return target;
}

describe('AwsClientCache', () => {
  const saved = { ...process.env };
  beforeEach(() => Object.assign(process.env, ENDPOINTS, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }));
  afterEach(() => {
    process.env = { ...saved };
  });

  it('honours the SDK endpoint variables of CloudWatch, CloudTrail and CloudWatch Logs', async () => {
    const clients = await new AwsClientCache().get({ region: 'eu-west-1' });
    await expect(requestTarget(clients.cloudWatch, new DescribeAlarmsCommand({}))).resolves.toBe('http://127.0.0.1:4101');
    await expect(requestTarget(clients.cloudTrail, new LookupEventsCommand({}))).resolves.toBe('http://127.0.0.1:4102');
    await expect(requestTarget(clients.logs, new FilterLogEventsCommand({ logGroupName: 'g' }))).resolves.toBe('http://127.0.0.1:4103');
  });

  it('keeps one set of clients per region and role', async () => {
    const cache = new AwsClientCache();
    const here = await cache.get({ region: 'eu-west-1' });
    expect(await cache.get({ region: 'eu-west-1' })).toBe(here);
    expect(await cache.get({ region: 'us-east-1' })).not.toBe(here);
    const role = { region: 'eu-west-1', roleArn: 'arn:aws:iam::210987654321:role/read', externalId: 'x1' };
    expect(await cache.get(role)).not.toBe(here);
    // Two services sharing a role get their own sessions, so each read is attributed to its service.
    const first = await cache.get({ ...role, sessionName: contextSessionName('PA') });
    expect(await cache.get({ ...role, sessionName: contextSessionName('PB') })).not.toBe(first);
    expect(await cache.get({ ...role, sessionName: contextSessionName('PA') })).toBe(first);
  });
});

describe('assumedRoleCredentials', () => {
  const sts = mockClient(STSClient);
  beforeEach(() => sts.reset());
  const target = { region: 'eu-west-1', roleArn: 'arn:aws:iam::210987654321:role/pd-agent-context-read', externalId: 'ext-123' };
  const answer = (expiresInMs: number) => ({
    Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + expiresInMs) },
  });

  it('assumes the role with the external id and a session name once, and reuses the credentials until near expiry', async () => {
    sts.on(AssumeRoleCommand).resolves(answer(3600_000));
    const provider = assumedRoleCredentials(new STSClient({ region: 'eu-west-1' }), target);
    const [first, second] = await Promise.all([provider(), provider()]);
    await provider();
    expect(first).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 't' });
    expect(second).toBe(first);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toMatchObject({
      RoleArn: target.roleArn,
      ExternalId: 'ext-123',
      RoleSessionName: 'pd-agent-context',
    });
  });

  it("assumes the role with the service's own session name when one is given (the read role's trust policy may require it)", async () => {
    sts.on(AssumeRoleCommand).resolves(answer(3600_000));
    await assumedRoleCredentials(new STSClient({ region: 'eu-west-1' }), { ...target, sessionName: contextSessionName('PCHECKOUT') })();
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input.RoleSessionName).toBe('pd-agent-PCHECKOUT');
  });

  it('assumes the role again when the credentials are about to expire', async () => {
    sts.on(AssumeRoleCommand).resolves(answer(60_000));
    const provider = assumedRoleCredentials(new STSClient({ region: 'eu-west-1' }), target);
    await provider();
    await provider();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('says which role could not be assumed', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }));
    const provider = assumedRoleCredentials(new STSClient({ region: 'eu-west-1' }), target);
    await expect(provider()).rejects.toThrow(`Assuming ${target.roleArn} failed: not authorized to perform sts:AssumeRole`);
  });
});
