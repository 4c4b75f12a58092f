import { App } from 'aws-cdk-lib';
import { buildApp } from '../../cdk/app';
import { DEFAULT_WEBHOOK_INGRESS, EnvironmentConfigError, loadEnvironment, MAX_AGENT_CONFIG_BYTES } from '../../cdk/environments';
import { parseAgentConfig } from '../../lib/config/agent-config';
import { cdkJsonContext } from '../support/cdk-app';

const environments = cdkJsonContext().environments;
const withDev = (block: Record<string, unknown>) => ({ ...environments, dev: { ...environments.dev, ...block } });

function loadError(envs: unknown, selected: unknown): EnvironmentConfigError {
  try {
    loadEnvironment(envs, selected);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentConfigError);
    return error as EnvironmentConfigError;
  }
  throw new Error('expected the environment to be rejected');
}

describe('loadEnvironment', () => {
  it.each(Object.keys(environments))('loads cdk.json environment %s', (name) => {
    const config = loadEnvironment(environments, name);
    expect(config.name).toBe(name);
    expect(parseAgentConfig(config.agentConfigJson).audit.retentionDays).toBe(environments[name].auditRetentionDays);
  });

  it('reads the webhook ingress capacity and the secret layout, with defaults for a block that gives neither', () => {
    expect(loadEnvironment(environments, 'prod')).toMatchObject({
      webhookIngress: environments.prod.webhookIngress,
      webhookSecretLayout: 'split',
    });
    const bare = { fresh: { removalPolicy: 'destroy' } };
    expect(loadEnvironment(bare, 'fresh')).toMatchObject({ webhookIngress: DEFAULT_WEBHOOK_INGRESS, webhookSecretLayout: 'split' });
    expect(loadEnvironment(withDev({ webhookSecretLayout: 'migrating' }), 'dev').webhookSecretLayout).toBe('migrating');
  });

  it.each([
    [{ reservedConcurrency: 5, rateLimit: 30, burstLimit: 20 }, 'burstLimit (20) is below rateLimit (30)'],
    [{ reservedConcurrency: 0, rateLimit: 10, burstLimit: 20 }, 'reservedConcurrency'],
    [{ reservedConcurrency: 5, rateLimit: 10, burstLimit: 20, burstLimt: 40 }, 'burstLimt'],
    [{ reservedConcurrency: 5, rateLimit: 10 }, 'burstLimit'],
  ])('refuses webhookIngress %j, naming the field', (webhookIngress, named) => {
    expect(loadError(withDev({ webhookIngress }), 'dev').message).toContain(named);
  });

  it('refuses an unknown secret layout', () => {
    expect(loadError(withDev({ webhookSecretLayout: 'single' }), 'dev').message).toContain('webhookSecretLayout');
  });

  it('lists the known environments when -c env is unknown', () => {
    const error = loadError(environments, 'production');
    expect(error.message).toBe(
      'Unknown environment "production"; known environments: dev, prod, staging. To add one, copy a block under "environments" in cdk.json.',
    );
  });

  it('lists the known environments when -c env is missing', () => {
    expect(loadError(environments, undefined).message).toBe(
      'Choose the environment to synthesize with -c env=<name>; known environments: dev, prod, staging.',
    );
  });

  it('fails the app the same way, before building any stack', () => {
    const app = new App({ context: { environments, env: 'qa' } });
    expect(() => buildApp(app)).toThrow('Unknown environment "qa"; known environments: dev, prod, staging.');
    expect(app.node.children).toHaveLength(0);
  });

  it('explains a cdk.json without an environments block', () => {
    expect(loadError(undefined, 'dev').message).toContain('cdk.json has no "environments" block');
  });

  it('applies defaults to a minimal block: a new environment is one copied block', () => {
    const config = loadEnvironment({ ...environments, qa: {} }, 'qa');
    expect(config).toMatchObject({
      name: 'qa',
      pagerdutyRegion: 'us',
      workerMaxConcurrency: 5,
      maxReceiveCount: 5,
      removalPolicy: 'retain',
      bedrockEnabled: false,
    });
    expect(config.alarmEmail).toBeUndefined();
  });

  it.each([
    [{ workerMaxConcurrency: 1 }, 'workerMaxConcurrency'],
    [{ maxReceiveCount: 0 }, 'maxReceiveCount'],
    [{ logRetentionDays: 10 }, 'logRetentionDays'],
    [{ pagerdutyRegion: 'apac' }, 'pagerdutyRegion'],
    [{ alarmEmail: 'not-an-address' }, 'alarmEmail'],
    [{ account: '12345' }, 'account'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy'],
  ])('names the wrong field of %j', (block, field) => {
    const error = loadError(withDev(block), 'dev');
    expect(error.message).toContain('cdk.json environment "dev" is invalid');
    expect(error.message).toContain(field);
  });

  it('checks agentConfig, rule patterns on the RE2 engine the worker runs them on', () => {
    const rules = [
      { id: 'r1', match: { title: '(' }, hypothesis: 'h', confidence: 0.9, action: 'hold' },
      { id: 'r2', match: { alertFields: { host: '(db)-\\1' } }, hypothesis: 'h', confidence: 0.9, action: 'hold' },
    ];
    const error = loadError(withDev({ agentConfig: { triage: { rules } } }), 'dev');
    expect(error.message).toContain('cdk.json environments.dev.agentConfig');
    expect(error.message).toContain('rule "r1" match.title /(/ cannot run on RE2: missing closing )');
    expect(error.message).toContain(
      'rule "r2" match.alertFields.host /(db)-\\1/ cannot run on RE2: backreferences (\\1, \\k<name>) are not supported',
    );
  });

  it('refuses an agentConfig too large for Lambda environment variables', () => {
    const rules = Array.from({ length: 40 }, (_, index) => ({
      id: `rule-${index}`,
      hypothesis: 'x'.repeat(100),
      confidence: 0.5,
      action: 'escalate',
    }));
    const error = loadError(withDev({ agentConfig: { triage: { rules } } }), 'dev');
    expect(error.message).toContain(`keep it under ${MAX_AGENT_CONFIG_BYTES} bytes`);
  });

  it('refuses an environment name that cannot name a stack and a secret', () => {
    const error = loadError({ ...environments, Prod_EU: {} }, 'Prod_EU');
    expect(error.message).toContain('must be lower-case letters, digits and dashes');
  });

  it('turns Bedrock on for the worker only through agentConfig', () => {
    const config = loadEnvironment(withDev({ agentConfig: { triage: { bedrock: { enabled: true, region: 'us-west-2' } } } }), 'dev');
    expect(config).toMatchObject({ bedrockEnabled: true, bedrockRegion: 'us-west-2' });
  });
});
