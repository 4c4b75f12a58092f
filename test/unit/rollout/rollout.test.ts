import fc from 'fast-check';
import { AgentConfigError, parseAgentConfig, type AgentConfig } from '../../../lib/config/agent-config';
import { allowedWrites, allowsAcknowledge, allowsNote, resolveRollout, samplePoint } from '../../../lib/rollout/rollout';

const withRollout = (rollout: unknown): AgentConfig => parseAgentConfig(JSON.stringify({ rollout }));
const incidentIds = fc.string({ minLength: 1, maxLength: 40 });

describe('rollout configuration', () => {
  it('acts on every incident when AGENT_CONFIG has no rollout (deployed environments keep their behaviour)', () => {
    const decision = resolveRollout(parseAgentConfig(undefined), 'PSVC', 'Q1');
    expect(decision).toMatchObject({ mode: 'act', sampled: true });
    expect(allowedWrites(decision)).toEqual({ acknowledge: true, note: true, escalate: true, hold: true, resolve: true });
  });

  it('defaults sampleRate to 1 and services to none', () => {
    const config = withRollout({ mode: 'observe' });
    expect(config.rollout).toEqual({ mode: 'observe', sampleRate: 1, services: {} });
  });

  it.each([
    ['an unknown mode', { mode: 'watch' }, /rollout\.mode/],
    ['a sample rate above 1', { mode: 'note', sampleRate: 1.5 }, /rollout\.sampleRate/],
    [
      'a negative service sample rate',
      { mode: 'note', services: { PSVC: { mode: 'act', sampleRate: -0.1 } } },
      /rollout\.services\.PSVC\.sampleRate/,
    ],
    ['a service without a mode', { mode: 'note', services: { PSVC: { sampleRate: 0.5 } } }, /rollout\.services\.PSVC\.mode/],
  ])('refuses %s with the path of the field', (_name, rollout, message) => {
    expect(() => withRollout(rollout)).toThrow(AgentConfigError);
    expect(() => withRollout(rollout)).toThrow(message);
  });
});

describe('resolveRollout', () => {
  it('observe writes nothing, note writes only the note, act writes everything', () => {
    const observe = resolveRollout(withRollout({ mode: 'observe' }), 'PSVC', 'Q1');
    const note = resolveRollout(withRollout({ mode: 'note' }), 'PSVC', 'Q1');
    expect(Object.values(allowedWrites(observe)).some(Boolean)).toBe(false);
    expect(allowedWrites(note)).toEqual({ acknowledge: false, note: true, escalate: false, hold: false, resolve: false });
    expect(allowsNote(note)).toBe(true);
    expect(allowsAcknowledge(note)).toBe(false);
  });

  it('a service entry replaces the environment setting, sample rate included', () => {
    const config = withRollout({ mode: 'observe', sampleRate: 0, services: { PACT: { mode: 'act' } } });
    expect(resolveRollout(config, 'PACT', 'Q1')).toMatchObject({ mode: 'act', sampled: true });
    expect(resolveRollout(config, 'POTHER', 'Q1')).toMatchObject({ mode: 'observe', sampled: false });
    expect(resolveRollout(config, null, 'Q1').reason).toMatch(/observe mode from the environment, outside the 0% sample/);
    expect(resolveRollout(config, 'PACT', 'Q1').reason).toBe('act mode from service PACT, every incident');
  });

  it('an incident outside the sample gets no writes at all, whatever the mode', () => {
    const decision = resolveRollout(withRollout({ mode: 'act', sampleRate: 0 }), 'PSVC', 'Q1');
    expect(decision.sampled).toBe(false);
    expect(Object.values(allowedWrites(decision)).some(Boolean)).toBe(false);
  });

  it('sampleRate 0 never samples and 1 always samples', () => {
    const never = withRollout({ mode: 'note', sampleRate: 0 });
    const always = withRollout({ mode: 'note', sampleRate: 1 });
    fc.assert(
      fc.property(incidentIds, (incidentId) => {
        expect(resolveRollout(never, 'PSVC', incidentId).sampled).toBe(false);
        expect(resolveRollout(always, 'PSVC', incidentId).sampled).toBe(true);
      }),
    );
  });

  it('a service override wins over the environment for every incident', () => {
    fc.assert(
      fc.property(
        incidentIds,
        fc.constantFrom('observe', 'note', 'act'),
        fc.constantFrom('observe', 'note', 'act'),
        (id, envMode, serviceMode) => {
          const config = withRollout({ mode: envMode, sampleRate: 0.3, services: { PSVC: { mode: serviceMode } } });
          expect(resolveRollout(config, 'PSVC', id)).toMatchObject({ mode: serviceMode, sampled: true });
        },
      ),
    );
  });

  it('the same incident gets the same answer every time, and a lower rate samples a subset of a higher one', () => {
    fc.assert(
      fc.property(incidentIds, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (id, a, b) => {
        const [low, high] = a < b ? [a, b] : [b, a];
        const lowConfig = withRollout({ mode: 'observe', sampleRate: low });
        const highConfig = withRollout({ mode: 'observe', sampleRate: high });
        expect(resolveRollout(lowConfig, 'PSVC', id)).toEqual(resolveRollout(lowConfig, 'PSVC', id));
        if (resolveRollout(lowConfig, 'PSVC', id).sampled) expect(resolveRollout(highConfig, 'PSVC', id).sampled).toBe(true);
      }),
    );
  });

  it('samples close to the configured fraction of incidents', () => {
    const ids = Array.from({ length: 4000 }, (_, index) => `Q${index.toString(36).toUpperCase()}`);
    const sampled = ids.filter((id) => samplePoint(id) < 0.25).length / ids.length;
    expect(sampled).toBeGreaterThan(0.22);
    expect(sampled).toBeLessThan(0.28);
  });
});
