import { PassThrough } from 'node:stream';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { parseAgentSecret, parseSigningSecrets } from '../../lib/secrets/agent-secret';
import { start, type StartResult } from '../../local/start';
import { captureOutput, findCanaries } from '../support/fault-injection/output-capture';

/**
 * `npm start -- --once` (the bundled handlers, as Lambda runs them) with Powertools at DEBUG: the environment's
 * secrets (the API key, and the webhook signing secret the local stack generates for this run) appear in no log line,
 * demo output, audit item or state item. The fault-injection test does the same under faults, with canaries for every
 * secret field.
 */
describe('secrets never leak: npm start -- --once at DEBUG level', () => {
  let result: StartResult | undefined;
  const savedLevel = process.env.POWERTOOLS_LOG_LEVEL;
  afterAll(async () => {
    await result?.stack.stop();
    process.env.POWERTOOLS_LOG_LEVEL = savedLevel;
  });

  it('runs the demo and no secret value appears anywhere it wrote', async () => {
    const out = new PassThrough();
    const demoLines: string[] = [];
    out.on('data', (chunk: Buffer) => demoLines.push(chunk.toString('utf8')));
    const env: NodeJS.ProcessEnv = { ...process.env, POWERTOOLS_LOG_LEVEL: 'DEBUG' };
    for (const name of ['PAGERDUTY_API_TOKEN', 'PAGERDUTY_OAUTH_CLIENT_ID', 'AGENT_CONFIG']) delete env[name];
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    const output = captureOutput();
    let sources: Record<string, string>;
    let canaries: string[];
    try {
      result = await start({ port: 0, demo: true, once: true, env, out, writeState: false });
      const { stack } = result;
      const secrets = new SecretsManagerClient({
        endpoint: stack.secretsManager.endpoint,
        region: stack.aws.region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const secret = parseAgentSecret(
        (await secrets.send(new GetSecretValueCommand({ SecretId: stack.secretId }))).SecretString ?? '',
        stack.secretId,
      );
      const signing =
        parseSigningSecrets(
          (await secrets.send(new GetSecretValueCommand({ SecretId: stack.webhookSecretId }))).SecretString ?? '',
          stack.webhookSecretId,
        ) ?? [];
      secrets.destroy();
      expect(signing.length).toBeGreaterThan(0);
      canaries = [secret.apiToken ?? '', ...signing.map((entry) => entry.secret), secret.eventsRoutingKey ?? ''].filter(
        (value) => value !== '',
      );
      const documents = DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: stack.aws.dynamodbEndpoint,
          region: stack.aws.region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
      );
      const scan = async (table: string) => JSON.stringify((await documents.send(new ScanCommand({ TableName: table }))).Items ?? []);
      sources = {
        'log output': output.text(),
        'demo output': demoLines.join(''),
        'audit table': await scan(stack.aws.auditTable),
        'state table': await scan(stack.aws.stateTable),
      };
      documents.destroy();
    } finally {
      output.restore();
    }
    expect(result.demo?.failures).toEqual([]);
    expect(canaries.length).toBeGreaterThanOrEqual(2);
    // DEBUG logging was on: the handlers logged, so the search below had something to search.
    expect(sources['log output'].length).toBeGreaterThan(1000);
    expect(findCanaries(canaries, sources)).toEqual([]);
  }, 180_000);
});
