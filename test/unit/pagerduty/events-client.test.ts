import { createEventsClient } from '../../../lib/pagerduty/events-client';

describe('Events API v2 client', () => {
  it('posts a trigger to /v2/enqueue and reads the 202', async () => {
    const calls: { url: string; body: unknown; headers: unknown }[] = [];
    const fake = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), body: JSON.parse(init?.body as string), headers: init?.headers });
      return new Response(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: 'k' }), { status: 202 });
    }) as typeof fetch;
    const response = await createEventsClient({ eventsUrl: 'https://events.eu.pagerduty.com/', fetch: fake }).send({
      routingKey: 'r'.repeat(32),
      action: 'trigger',
      dedupKey: 'k',
      summary: 'pd-agent gave up',
      source: 'pd-agent',
      severity: 'error',
      customDetails: { incident: 'Q1' },
    });
    expect(response).toMatchObject({ status: 202, value: { dedup_key: 'k' } });
    expect(calls[0].url).toBe('https://events.eu.pagerduty.com/v2/enqueue');
    expect(calls[0].headers).not.toHaveProperty('Authorization');
    expect(calls[0].body).toEqual({
      routing_key: 'r'.repeat(32),
      event_action: 'trigger',
      dedup_key: 'k',
      payload: { summary: 'pd-agent gave up', source: 'pd-agent', severity: 'error', custom_details: { incident: 'Q1' } },
    });
  });

  it('keeps the Events API error message and details', async () => {
    const fake = (async () =>
      new Response(
        JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.summary' is missing"] }),
        { status: 400 },
      )) as typeof fetch;
    await expect(
      createEventsClient({ eventsUrl: 'http://x', fetch: fake }).send({
        routingKey: 'r',
        action: 'resolve',
        dedupKey: 'k',
        summary: '',
        source: '',
        severity: 'info',
      }),
    ).rejects.toMatchObject({
      status: 400,
      pagerDutyMessage: 'Event object is invalid',
      details: ["'payload.summary' is missing"],
      retryable: false,
    });
  });
});
