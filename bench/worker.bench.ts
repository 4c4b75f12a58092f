import { performance } from 'node:perf_hooks';
import { SANDBOX_BOT_USER, SANDBOX_SERVICE_ID } from '../local/sandbox';
import { settle, startAgentStack } from '../test/support/agent-stack';

/**
 * The agent end to end on the local components (sandbox → local API Gateway → ingress → local-aws-sqs → worker →
 * sandbox, state in dynalite): time from the trigger to the agent's acknowledgement and to its note, p50/p99 over
 * INCIDENTS incidents in waves, and PagerDuty REST requests per triggered incident (target ≤ 8 incl. ack and note). Only
 * the incidents a rule could keep (the disk-full ones) are acknowledged; the others are noted and left with on-call.
 * The sandbox's rate limit is raised so the figures measure the agent, not the 960/min budget.
 * `BENCH_ALERTS=5000 BENCH_INCIDENTS=40 npx tsx bench/run.ts worker`: the same with thousands of alerts per incident
 * (the request count must not grow with them).
 */
const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 240);
const ALERTS_PER_INCIDENT = Number(process.env.BENCH_ALERTS ?? 1);
const WAVE = 20;
const TITLES = [
  'Disk full on db-1',
  'Checkout latency above SLO',
  'Payment API 5xx spike',
  'Queue backlog growing',
  'TLS certificate expiring',
];

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

export async function run(): Promise<void> {
  // Handler logs would drown the figures.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const stack = await startAgentStack({
    agentEnv: 'bench',
    config: {
      triage: {
        rules: [{ id: 'disk-full', match: { title: 'disk full' }, hypothesis: 'Disk filled by logs', confidence: 0.9, action: 'hold' }],
      },
    },
    sandbox: { rateLimit: { limit: 1_000_000, windowMs: 60_000 } },
    visibilityTimeoutSeconds: 30,
  });
  try {
    const triggeredAt = new Map<string, number>();
    const startedAt = performance.now();
    for (let wave = 0; wave < INCIDENTS / WAVE; wave += 1) {
      for (let i = 0; i < WAVE; i += 1) {
        const title = TITLES[(wave * WAVE + i) % TITLES.length];
        const alerts = Array.from({ length: ALERTS_PER_INCIDENT }, (_, index) => ({
          summary: `${title} (${index})`,
          severity: 'critical' as const,
        }));
        const incident = stack.sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title, alerts });
        triggeredAt.set(incident.id, Date.now());
      }
      await settle(stack, 120_000);
    }
    const wallMs = performance.now() - startedAt;

    const toAck: number[] = [];
    const toNote: number[] = [];
    const requestsPerIncident: number[] = [];
    let missing = 0;
    const restRequests = stack.sandbox.requests().filter((entry) => !entry.route.includes('webhook') && entry.route !== 'POST /v2/enqueue');
    const unattributed = restRequests.filter((entry) => entry.incidentId === null).length;
    for (const [incidentId, at] of triggeredAt) {
      const ack = stack.sandbox.acknowledgements(incidentId).find((entry) => entry.acknowledger.id === SANDBOX_BOT_USER.id);
      const note = stack.sandbox.notes(incidentId)[0];
      if (note === undefined) {
        missing += 1;
        continue;
      }
      // Only the incidents a rule could keep are acknowledged; the others stay with the people PagerDuty pages.
      if (ack !== undefined) toAck.push(Date.parse(ack.at) - at);
      toNote.push(Date.parse(note.created_at) - at);
      requestsPerIncident.push(restRequests.filter((entry) => entry.incidentId === incidentId).length);
    }
    const perIncident = restRequests.length / triggeredAt.size;
    const attributed = requestsPerIncident.reduce((sum, value) => sum + value, 0) / Math.max(1, requestsPerIncident.length);
    console.log(
      `incidents: ${triggeredAt.size} in waves of ${WAVE}, ${ALERTS_PER_INCIDENT} alert(s) each, wall ${(wallMs / 1000).toFixed(1)} s, missing note: ${missing}`,
    );
    console.log(
      `trigger → acknowledgement (the ${toAck.length} incidents a rule could keep): p50 ${percentile(toAck, 50)} ms, p99 ${percentile(toAck, 99)} ms`,
    );
    console.log(`trigger → note:            p50 ${percentile(toNote, 50)} ms, p99 ${percentile(toNote, 99)} ms`);
    console.log(
      `PagerDuty REST requests per triggered incident: ${perIncident.toFixed(2)} (target ≤ 8; ${attributed.toFixed(2)} on the incident's own routes + ` +
        `${(unattributed / triggeredAt.size).toFixed(2)} list reads), max on one incident's routes ${Math.max(...requestsPerIncident)}` +
        `${perIncident <= 8 ? '' : '  ** over target **'}`,
    );
  } finally {
    await stack.stop();
  }
}
