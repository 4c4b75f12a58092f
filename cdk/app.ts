import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadEnvironment } from './environments';
import { stackNameFor } from '../lib/infra/deployment-contract';
import { PdAgentStack } from './pd-agent-stack';

/**
 * `npx cdk synth|deploy -c env=<name>`: one stack per environment, from the `environments` block of cdk.json.
 * No context lookups, so synthesis needs no AWS credentials.
 */
export function buildApp(app: App): PdAgentStack {
  const config = loadEnvironment(app.node.tryGetContext('environments'), app.node.tryGetContext('env'));
  return new PdAgentStack(app, stackNameFor(config.name), {
    config,
    description: `pd-agent ${config.name}: PagerDuty SRE agent (webhook ingress, worker, handback, key rotation)`,
    ...(config.account === undefined && config.region === undefined ? {} : { env: { account: config.account, region: config.region } }),
  });
}

if (require.main === module) {
  try {
    const app = new App();
    buildApp(app);
    // cdk-nag's AwsSolutions checks on every synth and deploy: an unacknowledged finding fails synthesis.
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
