import { gatherContext } from '../../lib/agent/gather-context';
import { localBudget, RetryPolicy, type Attempted } from '../../lib/agent/retry-policy';
import { parseAgentConfig } from '../../lib/config/agent-config';
import { apiKeyAuth } from '../../lib/pagerduty/auth';
import { PagerDutyRequestAbortedError } from '../../lib/pagerduty/errors';
import { ALERT_PAGES, createPagerDutyClient } from '../../lib/pagerduty/rest-client';
import type { PagerDutyApi } from '../../lib/pagerduty/types';
import { SANDBOX_API_TOKEN, SANDBOX_BOT_USER, SANDBOX_SERVICE_ID, startSandbox, type Sandbox } from '../../local/sandbox';

/**
 * Reads stay bounded over HTTP against the sandbox: a read of an incident with thousands of alerts costs a fixed
 * number of requests and says how many alerts it left, and a read whose caller gave up sends nothing more.
 */
const ALERTS = 5_000;
const ALERTS_ROUTE = 'GET /incidents/{id}/alerts';

describe('bounded PagerDuty reads (sandbox over HTTP)', () => {
  let sandbox: Sandbox;
  let client: PagerDutyApi;

  const clientWith = (options: { timeoutMs?: number; fetch?: typeof fetch } = {}) =>
    createPagerDutyClient({ apiUrl: sandbox.apiUrl, auth: apiKeyAuth(SANDBOX_API_TOKEN), fromEmail: SANDBOX_BOT_USER.email, ...options });

  beforeEach(async () => {
    sandbox = await startSandbox({ rateLimit: { limit: 1_000_000 } });
    client = clientWith();
  });

  afterEach(async () => {
    await sandbox.stop();
  });

  const triggerWithAlerts = (count: number) =>
    sandbox.triggerIncident({
      serviceId: SANDBOX_SERVICE_ID,
      title: 'Alert storm on the edge fleet',
      alerts: Array.from({ length: count }, (_, index) => ({ summary: `edge-${index} 5xx above 5%`, severity: 'critical' })),
    });

  it(`reads the first page of an incident with ${ALERTS} alerts in ${ALERT_PAGES} request(s) and says how many were left`, async () => {
    const incident = triggerWithAlerts(ALERTS);

    const response = await client.listAlerts(incident.id);

    expect(sandbox.requests({ route: ALERTS_ROUTE })).toHaveLength(ALERT_PAGES);
    expect(response.value).toHaveLength(100 * ALERT_PAGES);
    expect(response.notRead).toBe(ALERTS - 100 * ALERT_PAGES);
  });

  it('says nothing is left when the alerts fit in the first page', async () => {
    const incident = triggerWithAlerts(3);

    const response = await client.listAlerts(incident.id);

    expect(response.value).toHaveLength(3);
    expect(response.notRead).toBe(0);
  });

  it('stops paging once the caller gives up: the read rejects and no further page is requested', async () => {
    for (let index = 0; index < 250; index += 1) sandbox.triggerIncident({ serviceId: SANDBOX_SERVICE_ID, title: `Incident ${index}` });
    const deadline = new AbortController();
    // The caller's deadline passes as the first page's answer arrives.
    const giveUpAfterFirstAnswer: typeof fetch = async (input, init) => {
      const answer = await fetch(input, init);
      deadline.abort(new Error('deadline'));
      return answer;
    };

    const read = clientWith({ fetch: giveUpAfterFirstAnswer }).listIncidents({}, { signal: deadline.signal });

    await expect(read).rejects.toBeInstanceOf(PagerDutyRequestAbortedError);
    await sandbox.idle();
    expect(sandbox.requests({ route: 'GET /incidents' })).toHaveLength(1);
  });

  it('sends nothing for a read whose caller gave up before it started', async () => {
    const incident = triggerWithAlerts(1);
    const deadline = new AbortController();
    deadline.abort(new Error('deadline'));

    await expect(client.listAlerts(incident.id, { signal: deadline.signal })).rejects.toThrow(/abandoned: the caller's deadline passed/);
    await sandbox.idle();
    expect(sandbox.requests({ route: ALERTS_ROUTE })).toHaveLength(0);
  });

  it("aborts a context read at the worker's read deadline: no request after it, no retry in the background", async () => {
    const incident = triggerWithAlerts(10);
    // Every alerts request hangs far beyond the read deadline; the client's own per-request timeout is longer still.
    sandbox.faults.script(
      ALERTS_ROUTE,
      Array.from({ length: 5 }, () => ({ latencyMs: 60_000 })),
    );
    const runs: Promise<Attempted<unknown>>[] = [];
    const retry = new RetryPolicy({ budget: localBudget(5), remainingTimeMs: () => 60_000, sleep: () => Promise.resolve() });
    const idempotent = retry.idempotent.bind(retry);
    retry.idempotent = <T>(...args: Parameters<typeof idempotent<T>>) => {
      const run = idempotent<T>(...args);
      runs.push(run);
      return run;
    };
    const { value } = await client.getIncident(incident.id);

    const context = await gatherContext(value, {
      api: clientWith({ timeoutMs: 1_000 }),
      retry,
      policy: parseAgentConfig(undefined).triage,
      settings: { readTimeoutMs: 200 },
    });

    expect(context.unavailable).toContainEqual({ source: 'alerts', reason: 'timed out after 200 ms' });
    // Every retry run the read started has ended (none is left to send later), and the sandbox has handled every
    // request that reached it.
    await Promise.allSettled(runs);
    await sandbox.idle();
    expect(sandbox.requests({ route: ALERTS_ROUTE })).toHaveLength(1);
  });
});
