import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EventProcessor } from '../../../lib/agent/process-event';
import { parseAgentConfig, type AgentConfig } from '../../../lib/config/agent-config';
import { AWS_PROVIDERS, type AwsProviders } from '../../../lib/context/aws/aws-context';
import type { AwsProviderInput } from '../../../lib/context/aws/aws-input';
import type { ChangeRecord } from '../../../lib/context/evidence';
import { MetricName } from '../../../lib/observability/telemetry';
import type { QueuedEvent } from '../../../lib/queue/queued-event';
import { RequestAnswerer } from '../../../lib/requests/answer-request';
import type { RequestQuota } from '../../../lib/requests/request-quota';
import type { Hypothesis } from '../../../lib/triage/types';
import { MemoryAuditTrail, MemoryIncidentLedger, MemoryWorkLedger, RecordingMetrics, testNotes } from '../../support/fake-agent-state';
import { BOT, FakePagerDuty, HUMAN, makeIncident } from '../../support/fake-pagerduty';
import { makeAlert } from '../../support/incident-context';

const INCIDENT = 'PINC001';
const SERVICE = 'PSVC001';
const NOW = new Date('2026-03-01T10:45:00.000Z');
const plenty = { remainingTimeMs: () => 50_000 };
const WRITES = ['acknowledgeIncident', 'escalateIncident', 'resolveIncident', 'assignIncident', 'sendEvent'] as const;

let sequence = 0;
/** An `incident.annotated` delivery of a note, as the ingress queued it; `eventId` repeats a delivery. */
function annotated(
  content: string,
  options: { noteId?: string; eventId?: string; agent?: { id: string; type: string } } = {},
): QueuedEvent {
  sequence += 1;
  const eventId = options.eventId ?? `EVTN${sequence}`;
  const body = {
    event: {
      id: eventId,
      event_type: 'incident.annotated',
      resource_type: 'incident',
      occurred_at: NOW.toISOString(),
      agent: options.agent ?? { id: HUMAN.id, type: 'user_reference' },
      data: {
        id: options.noteId ?? `PNOTE${sequence}`,
        type: 'incident_note',
        content,
        trimmed: false,
        incident: { id: INCIDENT, type: 'incident_reference' },
      },
    },
  };
  return {
    version: 1,
    eventId,
    eventType: 'incident.annotated',
    incidentId: INCIDENT,
    rawBodyBase64: Buffer.from(JSON.stringify(body)).toString('base64'),
    webhookId: null,
    subscriptionId: null,
    receivedAt: NOW.toISOString(),
  };
}

class MemoryQuota implements RequestQuota {
  readonly admitted = new Set<string>();
  constructor(private readonly max: number) {}
  async admit(_incidentId: string, requestId: string): Promise<boolean> {
    if (this.admitted.has(requestId)) return true;
    if (this.admitted.size >= this.max) return false;
    this.admitted.add(requestId);
    return true;
  }
}

const deploy: ChangeRecord = {
  at: '2026-03-01T10:40:00Z',
  source: 'cloudtrail',
  action: 'lambda:UpdateFunctionCode',
  target: 'checkout',
  summary: 'UpdateFunctionCode on checkout, see https://evil.example/login',
  onAlarmedResource: true,
};

const rediscovered: Hypothesis = {
  summary: 'Likely caused by the code update on checkout at 10:40',
  confidence: 0.8,
  evidence: [{ source: 'recent-change', text: 'UpdateFunctionCode on checkout 5 min before the trigger' }],
  nextSteps: [],
  decision: 'escalate',
  decisionReason: 'no rule',
  producedBy: 'rules',
};

function setup(options: { config?: object } = {}) {
  const pd = new FakePagerDuty([makeIncident({ status: 'acknowledged' })]);
  pd.alerts.set(INCIDENT, [makeAlert({ status: 'triggered' })]);
  const config: AgentConfig = parseAgentConfig(
    JSON.stringify({
      context: { aws: { services: { [SERVICE]: { region: 'eu-west-1', logGroups: ['/aws/lambda/checkout'] } } } },
      ...options.config,
    }),
  );
  const audit = new MemoryAuditTrail();
  const incidents = new MemoryIncidentLedger();
  const metrics = new RecordingMetrics();
  const quota = new MemoryQuota(config.requests.maxAnswers);
  const reads: { source: string; input: AwsProviderInput }[] = [];
  const providers: AwsProviders = {
    ...AWS_PROVIDERS,
    changes: {
      ...AWS_PROVIDERS.changes,
      run: async (input) => {
        reads.push({ source: 'changes', input });
        // The deploy at 10:40 is seen only by reads whose window ends after it.
        return input.triggeredAt.getTime() >= Date.parse(deploy.at) ? [deploy] : [];
      },
    },
    logs: {
      ...AWS_PROVIDERS.logs,
      run: async (input) => {
        reads.push({ source: 'logs', input });
        return [
          {
            logGroup: input.scope.logGroups[0] ?? '?',
            signature: 'TimeoutError: connect ETIMEDOUT <ip>',
            example: 'TimeoutError',
            countRecent: 40,
            countBefore: 2,
            isNew: true,
            consoleUrl: 'https://console.aws.amazon.com/cloudwatch/home',
          },
        ];
      },
    },
  };
  const requests = new RequestAnswerer({
    settings: config,
    incidentLedger: incidents,
    audit,
    quota,
    metrics,
    triage: () => rediscovered,
    aws: {
      config: config.context.aws,
      providers,
      clientsFor: async () => ({
        cloudWatch: new CloudWatchClient({}),
        cloudTrail: new CloudTrailClient({}),
        logs: new CloudWatchLogsClient({}),
      }),
    },
    clock: () => NOW,
  });
  const processor = new EventProcessor({
    env: 'test',
    settings: config,
    connect: async () => ({ api: pd, events: pd.eventsApi, botUserId: BOT.id }),
    workLedger: new MemoryWorkLedger(),
    incidentLedger: incidents,
    audit,
    notes: testNotes,
    triage: () => rediscovered,
    metrics,
    clock: () => NOW,
    retry: { sleep: async () => undefined, random: () => 0.5 },
    requests,
  });
  const answers = (): string[] => (pd.notes.get(INCIDENT) ?? []).map((note) => note.content);
  const writes = (): number => WRITES.reduce((total, operation) => total + pd.count(operation), 0);
  return { pd, audit, incidents, metrics, processor, answers, writes, reads };
}

describe('answers to pd-agent: requests', () => {
  it('answers help with the list of requests, in one note, writing nothing else', async () => {
    const { processor, answers, writes } = setup();
    await expect(processor.process(annotated('pd-agent: help'), plenty)).resolves.toEqual({ status: 'recorded' });
    expect(answers()).toHaveLength(1);
    expect(answers()[0]).toMatch(/answers pd-agent: help:\n- pd-agent: recheck: /);
    expect(answers()[0]).toMatch(/none acknowledges, escalates or resolves/);
    expect(writes()).toBe(0);
  });

  it('answers each request once across redeliveries and duplicate webhooks of the same note', async () => {
    const { processor, answers, metrics } = setup();
    const first = annotated('pd-agent: changes 6h', { noteId: 'PNOTE-A', eventId: 'EVT-A' });
    await processor.process(first, plenty);
    await expect(processor.process(first, plenty)).resolves.toEqual({ status: 'already-finished' });
    await processor.process(annotated('pd-agent: changes 6h', { noteId: 'PNOTE-A', eventId: 'EVT-A-DUPLICATE' }), plenty);
    expect(answers()).toHaveLength(1);
    expect(metrics.values.filter((metric) => metric.name === MetricName.requestAnswered)).toHaveLength(1);
  });

  it('answers changes from the changes provider alone over the window asked, outside text quoted and defanged', async () => {
    const { processor, answers, reads } = setup();
    await processor.process(annotated('pd-agent: changes 90m'), plenty);
    expect(reads.map((read) => read.source)).toEqual(['changes']);
    expect(reads[0]?.input.scope.lookbackMinutes).toBe(90);
    const answer = answers()[0] ?? '';
    expect(answer).toMatch(/1 change\(s\) in the last 90 min, newest first:\n- 10:40 UTC on the alarmed resource: “UpdateFunctionCode/);
    expect(answer).toContain('hxxps://evil[.]example/login');
    expect(answer).not.toContain('https://evil.example');
  });

  it('reads a named log group only when the mapping lists it', async () => {
    const { processor, answers, reads } = setup();
    await processor.process(annotated('pd-agent: logs /aws/lambda/checkout 30m'), plenty);
    expect(reads[0]?.input.scope.logGroups).toEqual(['/aws/lambda/checkout']);
    expect(answers()[0]).toMatch(/- 40 in 10 min \(2 in the hour before, new\) in “\/aws\/lambda\/checkout”: “TimeoutError/);
    await processor.process(annotated('pd-agent: logs /aws/lambda/payroll'), plenty);
    expect(reads).toHaveLength(1);
    expect(answers()[1]).toMatch(/Not understood: that log group is not in this service's mapping/);
  });

  it("answers metric with another metric's name with what it reads instead, reading nothing", async () => {
    const { processor, answers, reads } = setup();
    await processor.process(annotated('pd-agent: metric CPUUtilization'), plenty);
    expect(reads).toHaveLength(0);
    expect(answers()[0]).toMatch(/only the alarm's own metric is read/);
  });

  it('answers why with the recorded cause and the triage run again now, and says when nothing was recorded', async () => {
    const { processor, answers, incidents } = setup();
    await processor.process(annotated('pd-agent: why'), plenty);
    expect(answers()[0]).toMatch(/The first note's hypothesis is not stored for this incident, so this is the triage run again now\./);
    expect(answers()[0]).toMatch(/Likely cause now: “Likely caused by the code update on checkout at 10:40”; confidence 80%\./);
    await incidents.recordDecision(INCIDENT, 'escalated', { cause: { kind: 'recent-change', summary: 'The deploy at 10:40' } });
    await processor.process(annotated('pd-agent: why'), plenty);
    expect(answers()[1]).toMatch(/The first note's likely cause \(recent-change\): “The deploy at 10:40”\./);
    expect(answers()[1]).toMatch(/Evidence now:\n- “recent-change”: “UpdateFunctionCode on checkout/);
  });

  it("answers recheck with what changed since the agent's last note", async () => {
    const { pd, processor, answers } = setup();
    pd.notes.set(INCIDENT, [{ id: 'PBOT1', content: 'first note', created_at: '2026-03-01T10:20:00Z', user: BOT }]);
    await processor.process(annotated('pd-agent: recheck'), plenty);
    const answer = answers().find((content) => content.includes('pd-agent: recheck')) ?? '';
    expect(answer).toMatch(
      /Since the agent's last note at 10:20 UTC:\n- A new change landed at 10:40 UTC on the alarmed resource: "UpdateFunctionCode/,
    );
  });

  it('acknowledges stop in one line', async () => {
    const { processor, answers } = setup();
    await processor.process(annotated('pd-agent: stop, we have it'), plenty);
    expect(answers()[0]).toMatch(/Understood: no more follow-ups on this incident\./);
  });

  it.each([
    ['pd-agent: deploy the fix', 'that request is not one the agent knows'],
    ['pd-agent: changes 48h', 'a window is at most 24h'],
  ])('answers %j with one clear line saying what is understood', async (content, reason) => {
    const { processor, answers } = setup();
    await processor.process(annotated(content), plenty);
    const lines = (answers()[0] ?? '').split('\n');
    expect(lines[1]).toBe(
      `Not understood: ${reason}. It understands pd-agent: recheck | changes [window] | logs [log group] [window] | metric [name] | why | stop | help (windows like 30m or 6h, at most 24h).`,
    );
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(300);
  });

  it.each([
    ['feedback', 'pd-agent: wrong - it was the DB failover', { id: HUMAN.id, type: 'user_reference' }],
    ['a plain note', 'checking the database', { id: HUMAN.id, type: 'user_reference' }],
    ["the agent's own note", 'pd-agent: help', { id: BOT.id, type: 'user_reference' }],
  ])('never answers %s', async (_name, content, agent) => {
    const { processor, answers } = setup();
    await processor.process(annotated(content, { agent }), plenty);
    expect(answers()).toHaveLength(0);
  });

  it('over the per-incident limit, a request gets an audit row and no note', async () => {
    const { processor, answers, audit, metrics } = setup({ config: { requests: { maxAnswers: 1 } } });
    await processor.process(annotated('pd-agent: help'), plenty);
    await processor.process(annotated('pd-agent: help'), plenty);
    expect(answers()).toHaveLength(1);
    expect(
      audit.items.some(
        (item) => item.outcome === 'skipped' && /request not answered: at most 1 answers per incident in 10 min/.test(item.detail ?? ''),
      ),
    ).toBe(true);
    expect(metrics.values.filter((metric) => metric.name === MetricName.requestOverLimit)).toHaveLength(1);
  });

  it('in observe mode the answer goes to the audit trail only', async () => {
    const { processor, answers, audit, writes } = setup({ config: { rollout: { mode: 'observe' } } });
    await processor.process(annotated('pd-agent: help'), plenty);
    expect(answers()).toHaveLength(0);
    expect(writes()).toBe(0);
    expect(
      audit.items.some((item) => item.action === 'note' && item.outcome === 'skipped' && item.detail?.includes('answers pd-agent: help')),
    ).toBe(true);
  });
});
