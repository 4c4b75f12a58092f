import { apiKeyAuth, type AuthProvider } from '../../../lib/pagerduty/auth';
import { PagerDutyApiError, PagerDutyNetworkError } from '../../../lib/pagerduty/errors';
import { createPagerDutyClient } from '../../../lib/pagerduty/rest-client';

interface Call {
  url: URL;
  init: RequestInit;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/** A fetch fake that answers a script in order and records every request. */
function fakeFetch(answers: Answer[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fake = async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: new URL(String(input)), init: init ?? {} });
    const answer = answers.shift();
    if (answer === undefined) throw new Error('the test scripted no more answers');
    if (answer instanceof Error) throw answer;
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), { status: answer.status, headers: answer.headers });
  };
  return { fetch: fake, calls };
}

const TOKEN = 'u+secretApiKey123';
const incident = {
  id: 'Q1',
  type: 'incident',
  incident_number: 42,
  title: 't',
  status: 'acknowledged',
  urgency: 'high',
  html_url: 'h',
  created_at: '2026-01-01T00:00:00Z',
  service: { id: 'S', type: 'service_reference' },
  escalation_policy: { id: 'E', type: 'escalation_policy_reference' },
};

const client = (fetchFake: typeof fetch, auth: AuthProvider = apiKeyAuth(TOKEN), timeoutMs?: number) =>
  createPagerDutyClient({ apiUrl: 'https://api.eu.pagerduty.com/', auth, fromEmail: 'bot@acme.example', fetch: fetchFake, timeoutMs });

describe('PagerDuty REST client', () => {
  it('acknowledges with PUT incident_reference, the versioned Accept, JSON and From, and normalises the incident', async () => {
    const { fetch, calls } = fakeFetch([
      {
        status: 200,
        body: { incident },
        headers: { 'x-request-id': 'req-1', 'ratelimit-limit': '960', 'ratelimit-remaining': '959', 'ratelimit-reset': '42' },
      },
    ]);
    const response = await client(fetch).acknowledgeIncident('Q1');
    expect(calls[0].url.toString()).toBe('https://api.eu.pagerduty.com/incidents/Q1');
    expect(calls[0].init.method).toBe('PUT');
    expect(calls[0].init.headers).toMatchObject({
      Accept: 'application/vnd.pagerduty+json;version=2',
      'Content-Type': 'application/json',
      From: 'bot@acme.example',
      Authorization: `Token token=${TOKEN}`,
    });
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
    expect(response).toMatchObject({ status: 200, requestId: 'req-1', rateLimit: { limit: 960, remaining: 959, resetSeconds: 42 } });
    expect(response.value).toMatchObject({ number: 42, priority: null, incident_key: null, teams: [], acknowledgements: [] });
  });

  it('sends no From on reads', async () => {
    const { fetch, calls } = fakeFetch([{ status: 200, body: { incident } }]);
    const response = await client(fetch).getIncident('Q1');
    expect(calls[0].init.headers).not.toHaveProperty('From');
    expect(response.rateLimit).toEqual({ limit: null, remaining: null, resetSeconds: null });
  });

  it("keeps PagerDuty's error code, message, details, request id and rate limit, and never the token", async () => {
    const { fetch } = fakeFetch([
      {
        status: 429,
        body: { error: { message: 'Rate Limit Exceeded', code: 2020 } },
        headers: { 'x-request-id': 'req-429', 'ratelimit-reset': '17', 'ratelimit-remaining': '0' },
      },
    ]);
    const error = (await client(fetch)
      .createNote('Q1', 'x')
      .catch((caught: unknown) => caught)) as PagerDutyApiError;
    expect(error).toBeInstanceOf(PagerDutyApiError);
    expect(error).toMatchObject({
      status: 429,
      code: 2020,
      pagerDutyMessage: 'Rate Limit Exceeded',
      requestId: 'req-429',
      throttled: true,
      rateLimit: { resetSeconds: 17, remaining: 0 },
    });
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(TOKEN);
  });

  it("reads the errors[] details and keeps a status-only message for bodies that are not PagerDuty's", async () => {
    const { fetch } = fakeFetch([
      { status: 400, body: { error: { message: 'Invalid Input Provided', code: 2001, errors: ['From is missing'] } } },
      { status: 502, body: '<html>' },
    ]);
    await expect(client(fetch).escalateIncident('Q1', { mode: 'next_level', level: 2 })).rejects.toMatchObject({
      code: 2001,
      details: ['From is missing'],
      retryable: false,
    });
    await expect(client(fetch).getIncident('Q1')).rejects.toMatchObject({ status: 502, code: null, retryable: true });
  });

  it('counts PagerDuty\'s "already acknowledged" refusal (1002) as done: reads the incident once and flags it', async () => {
    const { fetch, calls } = fakeFetch([
      { status: 400, body: { error: { message: 'Incident Already Acknowledged', code: 1002 } }, headers: { 'x-request-id': 'req-ack' } },
      { status: 200, body: { incident } },
    ]);
    const response = await client(fetch).acknowledgeIncident('Q1');
    expect(response).toMatchObject({ alreadyDone: true, status: 400, requestId: 'req-ack', value: { id: 'Q1', status: 'acknowledged' } });
    expect(calls.map((call) => call.init.method)).toEqual(['PUT', 'GET']);
  });

  it('escalates by reassigning to an escalation policy, or by level', async () => {
    const { fetch, calls } = fakeFetch([
      { status: 200, body: { incident } },
      { status: 200, body: { incident } },
    ]);
    await client(fetch).escalateIncident('Q1', { mode: 'escalation_policy', escalationPolicyId: 'EP1' });
    await client(fetch).escalateIncident('Q1', { mode: 'next_level', level: 3 });
    expect(calls.map((call) => JSON.parse(call.init.body as string))).toEqual([
      { incident: { type: 'incident_reference', escalation_policy: { id: 'EP1', type: 'escalation_policy_reference' } } },
      { incident: { type: 'incident_reference', escalation_level: 3 } },
    ]);
  });

  it('resolves with a resolution', async () => {
    const { fetch, calls } = fakeFetch([{ status: 200, body: { incident: { ...incident, status: 'resolved' } } }]);
    await client(fetch).resolveIncident('Q1', 'cleared');
    expect(JSON.parse(calls[0].init.body as string)).toEqual({
      incident: { type: 'incident_reference', status: 'resolved', resolution: 'cleared' },
    });
  });

  it('pages lists by 100 with offset until more is false, honouring max', async () => {
    const page = (count: number, more: boolean, start: number) => ({
      status: 200,
      body: {
        incidents: Array.from({ length: count }, (_, index) => ({ ...incident, id: `Q${start + index}` })),
        more,
        limit: 100,
        offset: start,
      },
    });
    const { fetch, calls } = fakeFetch([page(100, true, 0), page(50, true, 100)]);
    const response = await client(fetch).listIncidents({
      serviceIds: ['S1', 'S2'],
      statuses: ['resolved'],
      since: '2026-01-01T00:00:00Z',
      max: 150,
    });
    expect(response.value).toHaveLength(150);
    expect(calls.map((call) => [call.url.searchParams.get('limit'), call.url.searchParams.get('offset')])).toEqual([
      ['100', '0'],
      ['50', '100'],
    ]);
    expect(calls[0].url.searchParams.getAll('service_ids[]')).toEqual(['S1', 'S2']);
    expect(calls[0].url.searchParams.getAll('statuses[]')).toEqual(['resolved']);
    expect(calls[0].url.searchParams.get('since')).toBe('2026-01-01T00:00:00Z');
  });

  describe('alerts with their incident embedded (include[]=incidents)', () => {
    const alert = (embedded: unknown) => ({
      id: 'A1',
      type: 'alert',
      summary: 's',
      status: 'triggered',
      created_at: 'c',
      body: null,
      incident: embedded,
    });
    const whole = { ...incident, assignments: [], acknowledgements: [{ at: 'a', acknowledger: { id: 'U1', type: 'user_reference' } }] };
    const read = async (embedded: unknown) => {
      const { fetch, calls } = fakeFetch([{ status: 200, body: { alerts: [alert(embedded)], more: false, total: 1 } }]);
      return { response: await client(fetch).listAlertsWithIncident('Q1'), calls };
    };

    it('asks for the incident with the alerts and hands it back whole, the alerts without it', async () => {
      const { response, calls } = await read(whole);
      expect(calls[0].url.pathname).toBe('/incidents/Q1/alerts');
      expect(calls[0].url.searchParams.getAll('include[]')).toEqual(['incidents']);
      expect(response.incident).toMatchObject({ id: 'Q1', status: 'acknowledged', number: 42, acknowledgements: whole.acknowledgements });
      expect(response.value).toEqual([expect.not.objectContaining({ incident: expect.anything() })]);
      expect(response.notRead).toBe(0);
    });

    it.each([
      ['a reference (PagerDuty ignored the include)', { id: 'Q1', type: 'incident_reference' }],
      ['another incident', { ...whole, id: 'Q2' }],
      ['an acknowledged incident without its acknowledgements', { ...whole, acknowledgements: undefined }],
      ['an incident without its assignments', { ...whole, assignments: undefined }],
      ['nothing', undefined],
    ])('gives no incident for %s, so the caller reads it by itself', async (_name, embedded) => {
      expect((await read(embedded)).response.incident).toBeNull();
    });
  });

  it('finds users by exact email only, and asks on-calls by escalation policy', async () => {
    const { fetch, calls } = fakeFetch([
      {
        status: 200,
        body: {
          users: [
            { id: 'U1', type: 'user', name: 'Bot', email: 'bot@acme.example' },
            { id: 'U2', type: 'user', name: 'Bot 2', email: 'bot@acme.example.org' },
          ],
          more: false,
        },
      },
      {
        status: 200,
        body: {
          oncalls: [
            {
              user: { id: 'U1', type: 'user_reference' },
              escalation_policy: { id: 'E', type: 'escalation_policy_reference' },
              escalation_level: 1,
            },
          ],
          more: false,
        },
      },
    ]);
    expect((await client(fetch).findUsersByEmail('BOT@acme.example')).value.map((user) => user.id)).toEqual(['U1']);
    expect(calls[0].url.searchParams.get('query')).toBe('BOT@acme.example');
    const oncalls = await client(fetch).listOncalls(['E']);
    expect(oncalls.value[0]).toMatchObject({ schedule: null, start: null, end: null });
    expect(calls[1].url.searchParams.getAll('escalation_policy_ids[]')).toEqual(['E']);
  });

  it('turns a timeout into a network error and a refused connection into one too', async () => {
    const hanging = (async (_input: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
      )) as typeof fetch;
    await expect(client(hanging, apiKeyAuth(TOKEN), 20).getIncident('Q1')).rejects.toMatchObject({
      name: 'PagerDutyNetworkError',
      reason: 'timeout',
    });
    const { fetch } = fakeFetch([new TypeError('fetch failed')]);
    const error = await client(fetch)
      .getIncident('Q1')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PagerDutyNetworkError);
    expect(error).toMatchObject({ reason: 'connection', retryable: true });
  });

  it('repeats a request once after a 401 when the credential can be renewed, and not with an API key', async () => {
    let issued = 0;
    const renewable: AuthProvider = {
      kind: 'oauth',
      renewable: true,
      authorization: async () => `Bearer t${issued}`,
      invalidate: () => void (issued += 1),
    };
    const { fetch, calls } = fakeFetch([
      { status: 401, body: { error: { message: 'Unauthorized', code: 2006 } } },
      { status: 200, body: { incident } },
    ]);
    expect((await client(fetch, renewable).getIncident('Q1')).status).toBe(200);
    expect(calls.map((call) => (call.init.headers as Record<string, string>).Authorization)).toEqual(['Bearer t0', 'Bearer t1']);

    const apiKey = fakeFetch([{ status: 401, body: { error: { message: 'Unauthorized', code: 2006 } } }]);
    await expect(client(apiKey.fetch).getIncident('Q1')).rejects.toMatchObject({ status: 401 });
    expect(apiKey.calls).toHaveLength(1);
  });

  it('does not repeat a second 401 after renewing', async () => {
    const renewable: AuthProvider = { kind: 'oauth', renewable: true, authorization: async () => 'Bearer x', invalidate: () => undefined };
    const { fetch, calls } = fakeFetch([
      { status: 401, body: {} },
      { status: 401, body: {} },
    ]);
    await expect(client(fetch, renewable).listAbilities()).rejects.toMatchObject({ status: 401 });
    expect(calls).toHaveLength(2);
  });
});
