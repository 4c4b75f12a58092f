import { auditTable } from '../../../lib/cli/commands/audit';
import { oneLine, renderTable } from '../../../lib/cli/output';
import { signPayload } from '../../../lib/cli/commands/send-test';
import { createHmac } from 'node:crypto';
import type { AuditItem } from '../../../lib/audit/audit-record';

describe('CLI output for people', () => {
  it('renders a table with headings and empty cells for missing values, without colour codes off a TTY', () => {
    const text = renderTable(
      ['a', 'b'],
      [
        ['x', undefined],
        [1, 'y'],
      ],
    );
    expect(text.split('\n')[1]).toMatch(/│ a +│ b +│/);
    expect(text).toMatch(/│ x +│ +│/);
    expect(text).not.toContain('\x1b[');
  });

  it('keeps one line of at most the given length', () => {
    expect(oneLine('\n  first line\nsecond')).toBe('  first line');
    expect(oneLine('abcdefghij', 5)).toBe('abcd…');
    expect(oneLine(undefined)).toBe('');
  });

  it('shows audit rows with time, incident, action, outcome, status and the decision first', () => {
    const item: AuditItem = {
      incidentId: 'PINC1',
      sk: 's',
      day: '2026-03-12',
      at: '2026-03-12T10:00:00.123Z',
      env: 'dev',
      action: 'triage',
      outcome: 'recorded',
      eventId: 'E1',
      decision: 'escalate',
      detail: 'ignored when a decision exists',
      httpStatus: 200,
      expiresAt: 0,
    };
    const text = auditTable([item], false);
    expect(text).toContain('2026-03-12 10:00:00Z');
    expect(text).toMatch(/PINC1 +│ triage +│ recorded +│ 200 +│ escalate/);
    expect(text).not.toContain('ignored');
  });
});

describe('send-test signatures', () => {
  it('signs the exact bytes like PagerDuty, one v1= entry per secret', () => {
    const body = Buffer.from('{"event":{}}\n');
    const expected = (secret: string) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect(signPayload(body, ['a'])).toBe(expected('a'));
    expect(signPayload(body, ['a', 'b'])).toBe(`${expected('a')},${expected('b')}`);
  });
});
