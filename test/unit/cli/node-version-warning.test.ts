import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SDK_NODE_VERSION_WARNING_SWITCH, silenceSdkNodeVersionWarning } from '../../../lib/cli/node-version-warning';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * What a fresh Node process prints on stderr when it constructs an SDK client and then emits a warning of its own.
 * A child process, because jest's sandboxed `process` never sees the warnings Node emits.
 */
function stderrOfAProcessUsingTheSdk(silence: boolean): string {
  const env = { ...process.env };
  delete env[SDK_NODE_VERSION_WARNING_SWITCH];
  const script = [
    "require('tsx/cjs');",
    silence ? "require('./lib/cli/node-version-warning.ts').silenceSdkNodeVersionWarning();" : '',
    "const { SQSClient } = require('@aws-sdk/client-sqs');",
    "new SQSClient({ region: 'us-east-1' }).destroy();",
    "process.emitWarning('a real warning');",
  ].join('\n');
  const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the child process failed (${result.status}): ${result.stderr}`);
  return result.stderr;
}

const nodeMajor = Number(process.versions.node.split('.')[0]);

describe("the AWS SDK's Node-version warning", () => {
  it('is printed by the SDK on Node before 22 when nothing silences it (the control for the next test)', () => {
    const stderr = stderrOfAProcessUsingTheSdk(false);
    expect(stderr.includes('NodeVersionSupportWarning')).toBe(nodeMajor < 22);
    expect(stderr).toContain('a real warning');
  });

  it('is not printed once silenced, while other warnings still are', () => {
    const stderr = stderrOfAProcessUsingTheSdk(true);
    expect(stderr).not.toContain('NodeVersionSupportWarning');
    expect(stderr).toContain('a real warning');
  });

  it("keeps the user's own choice of the SDK's switch", () => {
    const chosen: NodeJS.ProcessEnv = { [SDK_NODE_VERSION_WARNING_SWITCH]: 'false' };
    silenceSdkNodeVersionWarning(chosen);
    expect(chosen[SDK_NODE_VERSION_WARNING_SWITCH]).toBe('false');
    const unset: NodeJS.ProcessEnv = {};
    silenceSdkNodeVersionWarning(unset);
    expect(unset[SDK_NODE_VERSION_WARNING_SWITCH]).toBe('true');
  });
});
