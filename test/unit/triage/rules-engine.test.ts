import fc from 'fast-check';
import type { TriageRule } from '../../../lib/config/agent-config';
import { MAX_MATCHED_INPUT_LENGTH, matchRules, rulesMayKeep } from '../../../lib/triage/rules-engine';
import { triageIncident } from '../../../lib/triage/triage';
import { makeAlert, makeIncident, makeIncidentContext, makeRule, makeTriagePolicy } from '../../support/incident-context';

describe('matchRules', () => {
  const context = makeIncidentContext({
    incident: makeIncident({
      title: 'Disk 91% full on db-7',
      urgency: 'low',
      priority: { id: 'PPRI2', type: 'priority_reference', summary: 'P2', name: 'P2' },
    }),
    alerts: [
      makeAlert({ body: { details: { host: 'web-1' } } }),
      makeAlert({ body: { details: { db: { host: 'db-7', role: 'primary' }, mount: '/data' } } }),
    ],
  });

  it.each([
    ['services', { services: ['PSVC001'] }, { services: ['POTHER'] }, 'service Checkout API'],
    ['title (case-insensitive)', { title: 'DISK \\d+% (full|space)' }, { title: 'latency' }, 'title /DISK \\d+% (full|space)/'],
    ['urgency', { urgency: 'low' as const }, { urgency: 'high' as const }, 'urgency low'],
    ['priorities (by name, any case)', { priorities: ['p1', 'p2'] }, { priorities: ['P1'] }, 'priority P2'],
    [
      'alertFields (nested keys with dots)',
      { alertFields: { 'db.host': '^db-\\d+$' } },
      { alertFields: { 'db.host': '^web' } },
      'alert db.host=/^db-\\d+$/',
    ],
  ])('matches on %s and not when it differs', (_name, holds, fails, reason) => {
    const result = matchRules([makeRule({ id: 'fails', match: fails }), makeRule({ id: 'holds', match: holds })], context);
    expect(result.match?.rule.id).toBe('holds');
    expect(result.match?.matchedOn).toEqual([reason]);
  });

  it('requires every condition of a rule, and all alert fields on the same alert', () => {
    const mixed = makeRule({ id: 'mixed', match: { alertFields: { host: '^web', mount: '/data' } } });
    const partly = makeRule({ id: 'partly', match: { title: 'disk', urgency: 'high' } });
    expect(matchRules([mixed, partly], context).match).toBeUndefined();
    const sameAlert = makeRule({ id: 'same', match: { alertFields: { 'DB.Host': 'db-7', mount: '/data' } } });
    expect(matchRules([sameAlert], context).match?.rule.id).toBe('same');
  });

  it('takes the first matching rule in configuration order', () => {
    const rules = [makeRule({ id: 'specific', match: { title: 'disk' } }), makeRule({ id: 'catch-all', match: {} })];
    expect(matchRules(rules, context).match?.rule.id).toBe('specific');
    expect(matchRules(rules.slice(1), context).match?.matchedOn).toEqual(['every incident (the rule has no conditions)']);
  });

  it('does not match an incident without a priority on a priority rule', () => {
    const noPriority = makeIncidentContext({ incident: makeIncident({ priority: null }) });
    expect(matchRules([makeRule({ match: { priorities: ['P1'] } })], noPriority).match).toBeUndefined();
  });

  it('does not match alert fields when there are no alerts or details', () => {
    const rule = makeRule({ match: { alertFields: { host: '.*' } } });
    expect(matchRules([rule], makeIncidentContext({ alerts: [] })).match).toBeUndefined();
    expect(matchRules([rule], makeIncidentContext({ alerts: [makeAlert({ body: null })] })).match).toBeUndefined();
  });

  it('stops at a rule whose pattern RE2 cannot run, so a later, more general rule does not decide instead', () => {
    const escalates = makeRule({ id: 'backreference', match: { title: '(disk).*\\1' }, action: 'escalate' });
    const holds = makeRule({ id: 'catch-all', action: 'hold' });
    const result = matchRules([escalates, holds], context);
    expect(result.match).toBeUndefined();
    expect(result.skipped).toEqual([
      {
        ruleId: 'backreference',
        reason:
          '/(disk).*\\1/ cannot run on RE2: backreferences (\\1, \\k<name>) are not supported; match the repeated text explicitly or drop the repetition: fix the rule in AGENT_CONFIG',
      },
    ]);
    const brokenField = makeRule({ id: 'broken-field', match: { alertFields: { host: '[' } } });
    expect(matchRules([brokenField, holds], context).skipped.map((skip) => skip.ruleId)).toEqual(['broken-field']);
  });

  it('matches a pattern that backtracks exponentially in JavaScript against a long title, and answers', () => {
    // `(\d|\w)+$` took 5 s on a 29-character title with JavaScript's engine, doubling per character.
    const rule = makeRule({ id: 'overlapping', match: { title: '(\\d|\\w)+$' } });
    const noMatch = makeIncidentContext({ incident: makeIncident({ title: `${'1'.repeat(200)}!` }) });
    const matches = makeIncidentContext({ incident: makeIncident({ title: '1'.repeat(200) }) });
    expect(matchRules([rule], noMatch).match).toBeUndefined();
    expect(matchRules([rule], matches).match?.matchedOn).toEqual(['title /(\\d|\\w)+$/']);
  });

  it('tests patterns against bounded input: nothing beyond the cap matches, and an anchor cannot match at the cut', () => {
    const long = makeIncidentContext({ incident: makeIncident({ title: `${'a'.repeat(10_000)}needle` }) });
    expect(matchRules([makeRule({ match: { title: 'needle' } })], long).match).toBeUndefined();
    expect(matchRules([makeRule({ match: { title: '^a+$' } })], long).match).toBeUndefined();
    expect(matchRules([makeRule({ match: { title: '^a+' } })], long).match?.matchedOn).toEqual(['title /^a+/']);
    // PagerDuty's own title limit is 1024 characters: a real title is always matched whole.
    const hold = makeRule({ match: { title: '^CPU high on web-\\d+$' } });
    const smuggled = `CPU high on web-${'1'.repeat(240)}; prod-db down`;
    expect(matchRules([hold], makeIncidentContext({ incident: makeIncident({ title: smuggled }) })).match).toBeUndefined();
    expect(matchRules([hold], makeIncidentContext({ incident: makeIncident({ title: 'CPU high on web-12' }) })).match?.rule.id).toBe(
      hold.id,
    );
    expect(MAX_MATCHED_INPUT_LENGTH).toBe(1024);
  });
});

describe('rulesMayKeep: can triage leave the incident with the agent, judged before its alerts are read', () => {
  const incident = makeIncident({ title: 'Disk 91% full on db-7', urgency: 'low' });

  it('is false when no rule matches (the agent would escalate)', () => {
    expect(rulesMayKeep([makeRule({ action: 'hold', match: { title: 'latency' } })], incident, 0.7)).toBe(false);
    expect(rulesMayKeep([], incident, 0.7)).toBe(false);
  });

  it('follows the first rule that certainly matches: a hold keeps, an escalate or a hold below the threshold does not', () => {
    const hold = makeRule({ id: 'hold', action: 'hold', confidence: 0.9, match: { title: 'disk' } });
    const escalate = makeRule({ id: 'esc', action: 'escalate', match: { urgency: 'low' } });
    expect(rulesMayKeep([hold, escalate], incident, 0.7)).toBe(true);
    expect(rulesMayKeep([escalate, hold], incident, 0.7)).toBe(false);
    expect(rulesMayKeep([{ ...hold, confidence: 0.5 }], incident, 0.7)).toBe(false);
    expect(rulesMayKeep([makeRule({ action: 'resolve-if-cleared', confidence: 0.9, match: {} })], incident, 0.7)).toBe(true);
  });

  it('counts a rule whose alert conditions are not known yet as possibly matching, and looks past an escalating one', () => {
    const holdOnAlert = makeRule({
      id: 'alert-hold',
      action: 'hold',
      confidence: 0.9,
      match: { title: 'disk', alertFields: { host: '^db' } },
    });
    const escalateOnAlert = makeRule({ id: 'alert-esc', action: 'escalate', match: { alertFields: { host: '^db' } } });
    const holdAll = makeRule({ id: 'all', action: 'hold', confidence: 0.9, match: {} });
    expect(rulesMayKeep([holdOnAlert], incident, 0.7)).toBe(true);
    expect(rulesMayKeep([escalateOnAlert], incident, 0.7)).toBe(false);
    expect(rulesMayKeep([escalateOnAlert, holdAll], incident, 0.7)).toBe(true);
  });

  it('is false when a pattern RE2 cannot run stops the matching, as triage then escalates', () => {
    const broken = makeRule({ id: 'broken', action: 'escalate', match: { title: '(a)\\1' } });
    expect(rulesMayKeep([broken, makeRule({ action: 'hold', confidence: 0.9, match: {} })], incident, 0.7)).toBe(false);
  });

  it('property: when it says no, triage escalates whatever the alerts and the evidence', () => {
    const pattern = fc.constantFrom('disk', 'db-\\d', 'latency', '^web', 'full$', '.*');
    const rule = fc.record({
      action: fc.constantFrom('escalate' as const, 'hold' as const, 'resolve-if-cleared' as const),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      title: fc.option(pattern, { nil: undefined }),
      urgency: fc.option(fc.constantFrom('high' as const, 'low' as const), { nil: undefined }),
      alertFields: fc.option(fc.dictionary(fc.constantFrom('host', 'mount', 'db.host'), pattern, { maxKeys: 2 }), { nil: undefined }),
    });
    const scenario = fc.record({
      rules: fc.array(rule, { maxLength: 4 }),
      title: fc.constantFrom('Disk 91% full on db-7', 'Checkout latency', 'web-3 down', ''),
      urgency: fc.constantFrom('high' as const, 'low' as const),
      hosts: fc.array(fc.constantFrom('db-1', 'web-2', 'cache'), { maxLength: 3 }),
      alertStatuses: fc.constantFrom('triggered' as const, 'resolved' as const),
      holdMinConfidence: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(scenario, (s) => {
        const subject = makeIncident({ title: s.title, urgency: s.urgency });
        const rules: TriageRule[] = s.rules.map((r, index) =>
          makeRule({
            id: `r${index}`,
            action: r.action,
            confidence: r.confidence,
            match: { title: r.title, urgency: r.urgency, alertFields: r.alertFields },
          }),
        );
        fc.pre(!rulesMayKeep(rules, subject, s.holdMinConfidence));
        const context = makeIncidentContext({
          incident: subject,
          alerts: s.hosts.map((host) => makeAlert({ status: s.alertStatuses, body: { details: { host, mount: '/data', db: { host } } } })),
        });
        expect(triageIncident(context, makeTriagePolicy({ rules, holdMinConfidence: s.holdMinConfidence })).decision).toBe('escalate');
      }),
      { numRuns: 300 },
    );
  });
});
