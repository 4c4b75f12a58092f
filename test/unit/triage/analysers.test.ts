import { flattenDetails } from '../../../lib/context/alert';
import { alertDetails, salientFields } from '../../../lib/triage/analysers/alert-details';
import { flapping } from '../../../lib/triage/analysers/flapping';
import { looksLikeDeploy, recentChange } from '../../../lib/triage/analysers/recent-change';
import { recurrence } from '../../../lib/triage/analysers/recurrence';
import { jaccard, titlesAreSimilar, titleTokens } from '../../../lib/triage/analysers/title-similarity';
import {
  daysBefore,
  hoursBefore,
  makeAlert,
  makeChangeEvent,
  makeIncident,
  makeIncidentContext,
  makePastIncident,
  makeTriagePolicy,
  minutesBefore,
} from '../../support/incident-context';

const policy = makeTriagePolicy();

describe('title similarity', () => {
  it('ignores numbers, IPs, UUIDs, hex ids, cloud ids and pod suffixes', () => {
    expect([...titleTokens('Disk 91% full on 10.0.3.7:9100')]).toEqual(['disk', 'full', 'on']);
    expect([...titleTokens('Pod api-7d9f8c6b5-x2k4q CrashLoopBackOff')]).toEqual(['pod', 'api', 'crashloopbackoff']);
    expect([...titleTokens('Instance i-0abc123def456 unhealthy, req 3f2a9c1b7e 123e4567-e89b-12d3-a456-426614174000')]).toEqual([
      'instance',
      'unhealthy',
      'req',
    ]);
  });

  it('finds the same problem on different hosts similar, and different problems not', () => {
    expect(titlesAreSimilar('Disk 91% full on db-1 (10.0.3.7)', 'DISK 97% FULL ON db-2 (10.0.4.2)')).toBe(true);
    expect(titlesAreSimilar('Disk full on db-1', 'High latency on checkout-api')).toBe(false);
  });

  it('never calls two titles made only of ids similar', () => {
    expect(jaccard(titleTokens('12345'), titleTokens('67890'))).toBe(0);
  });
});

describe('recurrence analyser', () => {
  const title = 'Disk 93% full on db-7';

  it('reports similar past incidents on the same service with links, resolver and the last fix', () => {
    const older = makePastIncident(daysBefore(6), { title: 'Disk 95% full on db-3' });
    const newer = makePastIncident(daysBefore(2), {
      title: 'Disk 91% full on db-4',
      resolvedBy: { id: 'PUSR9', type: 'user_reference', summary: 'Bob Oncall' },
    });
    const context = makeIncidentContext({
      incident: makeIncident({ title }),
      recentIncidents: [older, newer],
      resolutionNotes: { [newer.id]: ['Rotated logs with logrotate -f and\nrestarted the pod'] },
    });
    const finding = recurrence(context, policy);
    expect(finding).not.toBeNull();
    expect(finding?.summary).toBe(
      'Recurring: 2 similar incidents on Checkout API in 14 days, last resolved with: "Rotated logs with logrotate -f and restarted the pod"',
    );
    expect(finding?.evidence.map((evidence) => evidence.link)).toEqual([newer.html_url, older.html_url]);
    expect(finding?.evidence[0]?.text).toContain('by Bob Oncall');
    expect(finding?.evidence[0]?.text).toContain(`resolved at ${newer.resolved_at}`);
    expect(finding?.nextSteps[0]).toBe(`Last time (#${newer.number}, Bob Oncall): Rotated logs with logrotate -f and restarted the pod`);
    expect(finding?.weight).toBeGreaterThan(0.4);
  });

  it('ignores other services, dissimilar titles, the incident itself and incidents outside the window', () => {
    const incident = makeIncident({ title });
    const context = makeIncidentContext({
      incident,
      recentIncidents: [
        makePastIncident(daysBefore(1), { title, service: { id: 'POTHER', type: 'service_reference' } }),
        makePastIncident(daysBefore(1), { title: 'Checkout latency p99 above 2s' }),
        makePastIncident(daysBefore(15), { title }),
        { ...incident },
        makeIncident({ title, created_at: minutesBefore(-10) }),
      ],
    });
    expect(recurrence(context, policy)).toBeNull();
    expect(recurrence(context, makeTriagePolicy({ recurrenceWindowDays: 20 }))?.evidence).toHaveLength(1);
  });

  it('says honestly when the last occurrence was resolved without a note', () => {
    const context = makeIncidentContext({
      incident: makeIncident({ title }),
      recentIncidents: [makePastIncident(daysBefore(1), { title })],
    });
    expect(recurrence(context, policy)?.summary).toBe(
      'Recurring: 1 similar incident on Checkout API in 14 days, last one resolved without a resolution note',
    );
  });
});

describe('recent-change analyser', () => {
  it('makes a deploy just before the trigger the likely cause, closest first, with links', () => {
    const deploy = makeChangeEvent({ summary: 'Deploy api v2.3.1', timestamp: minutesBefore(4) });
    const flag = makeChangeEvent({ summary: 'Feature flag new-cart enabled', timestamp: minutesBefore(30), custom_details: null });
    const context = makeIncidentContext({ changeEvents: [flag, deploy] });
    const finding = recentChange(context, policy);
    expect(finding?.summary).toBe('Likely caused by deploy api v2.3.1 4 min before the trigger');
    expect(finding?.evidence.map((evidence) => evidence.link)).toEqual([deploy.links?.[0]?.href, flag.links?.[0]?.href]);
    expect(finding?.weight).toBeGreaterThan(0.6);
    expect(finding?.nextSteps).toHaveLength(2);
  });

  it('ignores changes after the trigger or before the window', () => {
    const context = makeIncidentContext({
      changeEvents: [makeChangeEvent({ timestamp: minutesBefore(-2) }), makeChangeEvent({ timestamp: minutesBefore(61) })],
    });
    expect(recentChange(context, policy)).toBeNull();
  });

  it('weighs a non-deploy change less than a deploy and says "possibly"', () => {
    const change = makeChangeEvent({ summary: 'Feature flag new-cart enabled', source: 'launchdarkly', custom_details: null });
    const finding = recentChange(makeIncidentContext({ changeEvents: [change] }), policy);
    expect(looksLikeDeploy(change)).toBe(false);
    expect(finding?.summary).toMatch(/^Possibly related to change/);
    expect(finding?.weight).toBeLessThan(0.55);
  });

  it('keeps only http(s) links', () => {
    const change = makeChangeEvent({ links: [{ href: 'javascript:alert(1)' }] });
    expect(recentChange(makeIncidentContext({ changeEvents: [change] }), policy)?.evidence[0]?.link).toBeUndefined();
  });
});

describe('flapping analyser', () => {
  const title = 'Checkout latency p99 above 2s';

  it('reports flapping when enough similar incidents opened and quickly cleared within the window', () => {
    const past = [1, 2, 3].map((hours) => makePastIncident(hoursBefore(hours), { title, resolvedAfterMinutes: 4 }));
    const finding = flapping(makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: past }), policy);
    expect(finding?.summary).toBe(
      'Recurring, clears by itself: 3 similar incidents on Checkout API in the last 6 h (about every 1 h); 3 of them cleared within 4 min (median 4 min)',
    );
    expect(finding?.cause).toBe('flapping');
    expect(finding?.weight).toBe(0.62);
    expect(finding?.evidence.every((evidence) => evidence.link !== undefined)).toBe(true);
  });

  it('stays quiet below the threshold or outside the window', () => {
    const two = [1, 2].map((hours) => makePastIncident(hoursBefore(hours), { title }));
    const old = makePastIncident(hoursBefore(7), { title });
    expect(flapping(makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: [...two, old] }), policy)).toBeNull();
  });

  it('weighs slow-resolved repeats less (intermittent fault rather than a noisy alert)', () => {
    const past = [1, 2, 3].map((hours) => makePastIncident(hoursBefore(hours), { title, resolvedAfterMinutes: 50 }));
    const finding = flapping(makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: past }), policy);
    expect(finding?.weight).toBe(0.4);
    expect(finding?.summary).not.toContain('resolved within');
  });
});

describe('alert-details analyser', () => {
  it('summarises count, status and severities, and shows salient fields first', () => {
    const alerts = [
      makeAlert({ severity: 'critical', body: { details: { noise: 'x', error: 'connection refused', nested: { host: 'db-1' } } } }),
      makeAlert({ severity: 'critical', status: 'resolved' }),
      makeAlert({ severity: 'warning' }),
    ];
    const finding = alertDetails(makeIncidentContext({ alerts }), policy);
    // The alert with a threshold crossed on a named resource is the most relevant: it leads, as a weak explanation.
    expect(finding?.summary).toBe('Alert: http_5xx_rate 12.4 > 5 on host=checkout-api-1 in eu-west-1; nothing else found explains it yet');
    expect(finding?.weight).toBe(0.2);
    expect(finding?.cause).toBe('alert-detail');
    expect(finding?.evidence[0]?.text).toBe('3 alerts (2 triggered, 1 resolved); severities: critical ×2, warning');
    const first = finding?.evidence.find((evidence) => evidence.link === alerts[0]?.html_url);
    expect(first?.text).toContain('error=connection refused; nested.host=db-1');
    expect(first?.text).not.toContain('noise');
  });

  it('truncates huge values and never dumps them', () => {
    const alert = makeAlert({ body: { details: { error: 'x'.repeat(100_000) } } });
    const [[, value] = ['', '']] = salientFields(alert);
    expect(value.length).toBeLessThanOrEqual(160);
    expect(value.endsWith('…')).toBe(true);
  });

  it('flattens nested objects and arrays, and treats string details as one field', () => {
    expect([...flattenDetails({ a: { b: [1, { c: 'd' }] } })]).toEqual([
      ['a.b.0', 1],
      ['a.b.1.c', 'd'],
    ]);
    expect([...flattenDetails('plain text from a monitor')]).toEqual([['details', 'plain text from a monitor']]);
    expect(flattenDetails(undefined).size).toBe(0);
  });

  it('reports nothing without alerts', () => {
    expect(alertDetails(makeIncidentContext({ alerts: [] }), policy)).toBeNull();
  });

  it('says how many alerts the read left unread, so the note does not pass a first page off as the whole incident', () => {
    const alerts = [makeAlert(), makeAlert()];
    const texts = (alertsNotRead: number | null | undefined) =>
      alertDetails(makeIncidentContext({ alerts, alertsNotRead }), policy)?.evidence.map((item) => item.text) ?? [];

    expect(texts(4_998)).toContain('The agent read the first 2 alerts only: 4998 more alerts not read');
    expect(texts(null)).toContain('The agent read the first 2 alerts only: PagerDuty holds more alerts than were read');
    expect(texts(0).join('\n')).not.toContain('read the first');
  });
});

describe('analysers in a burst (a storm on one service)', () => {
  const title = 'Queue backlog growing';
  // Twelve identical titles opened in the last six minutes (the storm itself), two already cleared by themselves.
  const storm = Array.from({ length: 12 }, (_, index) =>
    index < 2
      ? makePastIncident(minutesBefore(6 - index * 0.5), { title, resolvedAfterMinutes: 1 })
      : makePastIncident(minutesBefore(6 - index * 0.5), { title, status: 'triggered', resolved_at: null }),
  );
  const burst = { count: 13, since: minutesBefore(6) };

  it('without the burst, the storm reads as a recurrence and as flapping (what the burst mark corrects)', () => {
    const context = makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: storm });
    expect(recurrence(context, policy)?.summary).toMatch(/^Recurring: 12 similar incidents/);
    expect(flapping(context, policy)).not.toBeNull();
  });

  it("does not count the burst's own incidents as recurrence or flapping", () => {
    const context = makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: storm, burst });
    expect(recurrence(context, policy)).toBeNull();
    expect(flapping(context, policy)).toBeNull();
  });

  it('still finds the same problem before the burst began', () => {
    const before = makePastIncident(daysBefore(2), { title, resolvedAfterMinutes: 30 });
    const context = makeIncidentContext({ incident: makeIncident({ title }), recentIncidents: [...storm, before], burst });
    const finding = recurrence(context, policy);
    expect(finding?.summary).toMatch(/^Recurring: 1 similar incident on/);
    expect(finding?.evidence.map((evidence) => evidence.link)).toEqual([before.html_url]);
  });
});
