import { performance } from 'node:perf_hooks';
import { SANDBOX_BOT_USER, SANDBOX_PRIMARY_USER, SANDBOX_SERVICE_ID } from '../local/sandbox';
import { settle, startAgentStack } from '../test/support/agent-stack';

/**
 * The storm: STORM_INCIDENTS (default 1,000) incidents triggered at once against the sandbox with PagerDuty's REST
 * rate limit enforced, time-compressed: STORM_LIMIT requests per STORM_WINDOW_MS (default 96 per 6 s: PagerDuty's rate
 * of 960 per minute in windows ten times shorter, so `ratelimit-reset` answers are at most 6 s; STORM_LIMIT=960 plays
 * it 10x faster). Figures: wall time against the
 * lower bound the limit allows for the requests the agent needed (target within 1.25x), 429s received (target under
 * 2% of requests), REST requests per incident, trigger → acknowledgement p50/p99, peak memory of the process (worker,
 * ingress, emulators and sandbox together: an upper bound for the worker).
 * STORM_AGENT_FIRST=1: the service's escalation policy pages the agent first (level 1 the agent, level 2 a person,
 * `escalation.mode: next_level`), so the incidents no rule could keep are escalated to level 2 instead of left alone.
 */
const INCIDENTS = Number(process.env.STORM_INCIDENTS ?? 1000);
const LIMIT = Number(process.env.STORM_LIMIT ?? 96);
const WINDOW_MS = Number(process.env.STORM_WINDOW_MS ?? 6000);
const AGENT_FIRST = process.env.STORM_AGENT_FIRST === '1';
const AGENT_FIRST_SERVICE = 'PSVCAGENT';
const TITLES = ['Disk full on db-1', 'Checkout latency above SLO', 'Payment API 5xx spike', 'Queue backlog growing'];

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

export async function run(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 50);
  const stack = await startAgentStack({
    agentEnv: 'storm',
    config: {
      ...(AGENT_FIRST ? { escalation: { mode: 'next_level' } } : {}),
      triage: {
        rules: [{ id: 'disk-full', match: { title: 'disk full' }, hypothesis: 'Disk filled by logs', confidence: 0.9, action: 'hold' }],
      },
    },
    sandbox: { rateLimit: { limit: LIMIT, windowMs: WINDOW_MS }, webhookDelivery: { maxAttempts: 10, retryBackoffMs: 50 } },
    visibilityTimeoutSeconds: 30,
  });
  try {
    if (AGENT_FIRST) {
      stack.sandbox.seed({
        escalationPolicies: [{ id: 'PEPAGENT', name: 'Agent first', levels: [[SANDBOX_BOT_USER.id], [SANDBOX_PRIMARY_USER.id]] }],
        services: [{ id: AGENT_FIRST_SERVICE, name: 'agent-first', escalationPolicyId: 'PEPAGENT' }],
      });
    }
    const serviceId = AGENT_FIRST ? AGENT_FIRST_SERVICE : SANDBOX_SERVICE_ID;
    const triggeredAt = new Map<string, number>();
    const startedAt = performance.now();
    const firstRequest = stack.sandbox.requests().length;
    for (let index = 0; index < INCIDENTS; index += 1) {
      const incident = stack.sandbox.triggerIncident({
        serviceId,
        title: `${TITLES[index % TITLES.length]} #${index}`,
      });
      triggeredAt.set(incident.id, Date.now());
    }
    await settle(stack, 1_800_000);
    const wallMs = performance.now() - startedAt;

    const requests = stack.sandbox
      .requests()
      .slice(firstRequest)
      .filter((entry) => entry.route !== 'POST /v2/enqueue' && entry.route !== 'POST /oauth/token');
    const throttled = requests.filter((entry) => entry.status === 429).length;
    const served = requests.length - throttled;
    // The fastest any client could have made the requests that were served: whole windows of LIMIT requests.
    const lowerBoundMs =
      Math.max(1, Math.ceil(served / LIMIT) - 1) * WINDOW_MS + ((served % LIMIT === 0 ? LIMIT : served % LIMIT) / LIMIT) * WINDOW_MS;
    const toAck: number[] = [];
    const toNote: number[] = [];
    let unacknowledged = 0;
    for (const [incidentId, at] of triggeredAt) {
      const ack = stack.sandbox.acknowledgements(incidentId).find((entry) => entry.acknowledger.id === SANDBOX_BOT_USER.id);
      if (ack === undefined) unacknowledged += 1;
      else toAck.push(Date.parse(ack.at) - at);
      const note = stack.sandbox.notes(incidentId).find((entry) => entry.user.id === SANDBOX_BOT_USER.id);
      if (note !== undefined) toNote.push(Date.parse(note.created_at) - at);
    }
    const handedBack = stack.sandbox
      .incidents()
      .filter((incident) => stack.sandbox.notes(incident.id).some((note) => note.content.includes('could not finish triage'))).length;
    const ratio = wallMs / lowerBoundMs;
    const share = throttled / Math.max(1, requests.length);
    const speed = LIMIT / WINDOW_MS / (960 / 60_000);
    console.log(
      `storm: ${INCIDENTS} incidents at once${AGENT_FIRST ? ' on a policy that pages the agent first' : ''}; rate limit ${LIMIT} requests per ${WINDOW_MS / 1000} s (PagerDuty's 960/min at ${speed.toFixed(1)}x speed)`,
    );
    console.log(
      `wall time ${(wallMs / 1000).toFixed(1)} s vs lower bound ${(lowerBoundMs / 1000).toFixed(1)} s for ${served} served requests: ${ratio.toFixed(2)}x (target ≤ 1.25x)${ratio <= 1.25 ? '' : '  ** over target **'}`,
    );
    console.log(
      `429s: ${throttled} of ${requests.length} requests (${(share * 100).toFixed(2)}%, target < 2%)${share < 0.02 ? '' : '  ** over target **'}`,
    );
    console.log(`REST requests per incident: ${(requests.length / INCIDENTS).toFixed(2)} (${(served / INCIDENTS).toFixed(2)} served)`);
    const byRoute = new Map<string, number>();
    for (const entry of requests) byRoute.set(entry.route, (byRoute.get(entry.route) ?? 0) + 1);
    const perIncident = [...byRoute].sort((a, b) => b[1] - a[1]).map(([route, count]) => `${route} ${(count / INCIDENTS).toFixed(2)}`);
    console.log(`  per incident by route: ${perIncident.join(' · ')}`);
    console.log(
      `trigger → acknowledgement (${toAck.length} incidents a rule could keep): p50 ${percentile(toAck, 50)} ms, p99 ${percentile(toAck, 99)} ms; ` +
        `not acknowledged by the agent (no rule could keep them): ${unacknowledged}; handed back: ${handedBack}`,
    );
    console.log(
      `trigger → note: p50 ${percentile(toNote, 50)} ms, p99 ${percentile(toNote, 99)} ms; incidents without the agent's note: ${INCIDENTS - toNote.length}`,
    );
    console.log(`peak memory of the process: RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, heap ${(peakHeap / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    clearInterval(sampler);
    await stack.stop();
  }
}
