import { PassThrough } from 'node:stream';
import { start, type StartResult } from '../../local/start';
import { SANDBOX_BOT_USER } from '../../local/sandbox';

describe('npm start -- --once: the README main command, end to end', () => {
  let result: StartResult | undefined;
  afterAll(async () => {
    await result?.stack.stop();
  });

  it('runs the scripted demo against the bundled handlers and every expectation holds', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const env = { ...process.env };
    for (const name of ['PAGERDUTY_API_TOKEN', 'PAGERDUTY_OAUTH_CLIENT_ID', 'AGENT_CONFIG']) delete env[name];
    result = await start({ port: 0, demo: true, once: true, env, out, writeState: false });
    expect(result.demo?.failures).toEqual([]);
    expect(result.demo?.checks).toBeGreaterThanOrEqual(20);
    expect(result.demo?.summaries.map((summary) => [summary.policy, summary.acknowledgedBy, summary.decision])).toEqual([
      ['people first', SANDBOX_BOT_USER.name, 'held'],
      ['people first', 'nobody', 'left-with-on-call'],
      ['agent first', SANDBOX_BOT_USER.name, 'escalated'],
      ['people first', 'nobody', 'left-with-on-call'],
      ['people first', 'nobody', 'left-with-on-call'],
      ['people first', 'nobody', 'would be left-with-on-call (observe mode: not carried out)'],
      ['people first', 'nobody', 'would be left-with-on-call (note mode: not carried out)'],
    ]);
    const text = lines.join('');
    expect(text).toContain('All ');
    expect(text).toContain('acknowledged by');
  }, 120_000);
});
