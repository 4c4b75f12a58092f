import { AgentConfigError, parseAgentConfig } from '../../../lib/config/agent-config';
import { parseEventFilters } from '../../../lib/config/filters-config';

describe('parseAgentConfig', () => {
  it('gives cautious defaults when AGENT_CONFIG is unset', () => {
    const config = parseAgentConfig(undefined);
    expect(config.filters.eventTypes).toEqual(['incident.*']);
    expect(config.filters.withoutPriority).toBe('drop');
    expect(config.filters.withoutTeams).toBe('drop');
    expect(config.triage.rules).toEqual([]);
    expect(config.triage.bedrock.enabled).toBe(false);
    expect(config.escalation.mode).toBe('escalation_policy');
    expect(config.links.trustedHosts).toEqual([]);
  });

  it('takes trusted link hosts as lower-case host names only', () => {
    expect(parseAgentConfig(JSON.stringify({ links: { trustedHosts: ['grafana.acme.example'] } })).links.trustedHosts).toEqual([
      'grafana.acme.example',
    ]);
    for (const host of ['https://grafana.acme.example', 'Grafana.acme.example', '*.acme.example', 'grafana.acme.example:3000', 'localhost'])
      expect(() => parseAgentConfig(JSON.stringify({ links: { trustedHosts: [host] } }))).toThrow(
        /lower-case host name .* at links\.trustedHosts\[0\]/,
      );
  });

  it('fills defaults inside a partial configuration', () => {
    const config = parseAgentConfig(
      JSON.stringify({
        filters: { minPriority: 'P2' },
        triage: { rules: [{ id: 'disk', hypothesis: 'Disk full', confidence: 0.9, action: 'hold', match: { title: 'disk' } }] },
      }),
    );
    expect(config.filters.minPriority).toBe('P2');
    expect(config.filters.priorityRanks).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    expect(config.triage.rules[0]?.nextSteps).toEqual([]);
    expect(config.triage.holdMinConfidence).toBe(0.7);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['a wrong type', JSON.stringify({ filters: { services: 'PSVC' } }), /filters\.services/],
    ['an unknown priority', JSON.stringify({ filters: { minPriority: 'SEV1' } }), /minPriority "SEV1"/],
    [
      'a confidence above 1',
      JSON.stringify({ triage: { rules: [{ id: 'r', hypothesis: 'h', confidence: 2, action: 'hold' }] } }),
      /confidence/,
    ],
    [
      'a duplicate rule id',
      JSON.stringify({
        triage: {
          rules: [
            { id: 'r', hypothesis: 'h', confidence: 1, action: 'hold' },
            { id: 'r', hypothesis: 'h', confidence: 1, action: 'hold' },
          ],
        },
      }),
      /rule id "r" is used twice/,
    ],
  ])('rejects %s with a message that says what to fix', (_name, raw, message) => {
    expect(() => parseAgentConfig(raw)).toThrow(AgentConfigError);
    expect(() => parseAgentConfig(raw)).toThrow(message);
  });
});

describe('parseEventFilters: what the ingress reads of AGENT_CONFIG', () => {
  const workerOnlyMistakes = JSON.stringify({
    filters: { services: ['PSVC1'], minPriority: 'P2' },
    triage: { holdMinConfidence: 'high', rules: [{ id: 'no-hypothesis' }] },
    rollout: { mode: 'sometimes' },
    context: { sharedSeconds: 3600 },
  });

  it('returns the filters with their defaults, whatever the other fields hold', () => {
    expect(parseEventFilters(workerOnlyMistakes)).toEqual({
      ...parseAgentConfig(undefined).filters,
      services: ['PSVC1'],
      minPriority: 'P2',
    });
  });

  it('leaves the worker to refuse what it ignores', () => {
    expect(() => parseAgentConfig(workerOnlyMistakes)).toThrow(/triage\.holdMinConfidence/);
  });

  it('gives the same defaults as the whole configuration when unset', () => {
    expect(parseEventFilters(undefined)).toEqual(parseAgentConfig(undefined).filters);
    expect(parseEventFilters('  ')).toEqual(parseAgentConfig(undefined).filters);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['not an object', '[]', /expected object/],
    ['a wrong filter type', JSON.stringify({ filters: { services: 'PSVC' } }), /filters\.services/],
    ['filters that are not an object', JSON.stringify({ filters: 'all' }), /filters/],
    ['an unknown priority', JSON.stringify({ filters: { minPriority: 'SEV1' } }), /minPriority "SEV1"/],
  ])('rejects %s with a message that says what to fix', (_name, raw, message) => {
    expect(() => parseEventFilters(raw)).toThrow(AgentConfigError);
    expect(() => parseEventFilters(raw)).toThrow(message);
  });
});
