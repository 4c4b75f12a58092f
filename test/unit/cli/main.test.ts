import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCTOR_CHECK_CATALOGUE } from '../../../lib/cli/commands/doctor';
import { AgentConfigError } from '../../../lib/config/agent-config';
import { localStartProblem } from '../../../local/start';
import { runCliCaptured } from '../../support/cli-harness';

const packageVersion = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

describe('the pd-agent CLI for a new user', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  afterEach(() => cloudFormation.reset());

  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const run = await runCliCaptured([flag]);
    expect(run).toEqual({ code: 0, stdout: `${packageVersion}\n`, stderr: '' });
  });

  it('doctor --list names every check and what it verifies, without an environment', async () => {
    const run = await runCliCaptured(['doctor', '--list']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(DOCTOR_CHECK_CATALOGUE.map((check) => `${check.name}: ${check.verifies}`));
    expect(run.stdout).toContain("paging: <service>: one per service the subscriptions cover: whether the agent's user is first");
    const json = JSON.parse((await runCliCaptured(['doctor', '--list', '--json'])).stdout) as { checks: unknown[] };
    expect(json.checks).toEqual(DOCTOR_CHECK_CATALOGUE);
  });

  it('"Region is missing" from the SDK is answered with --region', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(new Error('Region is missing'));
    const run = await runCliCaptured(['doctor', '--env', 'dev']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: Could not read stack PdAgent-dev: Region is missing');
    expect(run.stderr).toContain('→ Pass --region <region> (the region the stack is deployed in), or set AWS_REGION');
  });

  it('a stack that does not exist is still answered with deploying it', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(new Error('Stack with id PdAgent-dev does not exist'));
    const run = await runCliCaptured(['doctor', '--env', 'dev', '--region', 'eu-west-1']);
    expect(run.stderr).toContain('→ Deploy it first (`npx cdk deploy PdAgent-dev`)');
  });
});

describe('npm start failing on the configuration', () => {
  it('tells a local run to fix AGENT_CONFIG and start again, never to redeploy', () => {
    const problem = localStartProblem(new AgentConfigError('AGENT_CONFIG', 'rollout.mode must be observe, note or act'));
    expect(problem).toBe(
      'AGENT_CONFIG is not a valid pd-agent configuration: rollout.mode must be observe, note or act. Fix it (see docs/configuration.md "Configuration"), then run `npm start` again (unset AGENT_CONFIG for the demo configuration).',
    );
    expect(problem).not.toMatch(/redeploy/i);
  });

  it('passes any other failure on as it is', () => {
    expect(localStartProblem(new Error('listen EADDRINUSE: address already in use 127.0.0.1:3000'))).toBe(
      'listen EADDRINUSE: address already in use 127.0.0.1:3000',
    );
  });
});
