import { PassThrough } from 'node:stream';
import { start, type StartResult } from '../../local/start';

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
    expect(result.demo?.summaries.map((summary) => summary.decision)).toEqual([
      'hold',
      'escalate',
      'escalate',
      'escalate',
      'escalate (observe mode: not carried out)',
      'escalate (note mode: not carried out)',
    ]);
    const text = lines.join('');
    expect(text).toContain('All ');
    expect(text).toContain('acknowledged by');
  }, 120_000);
});
