import fc from 'fast-check';
import { changeLookupKey } from '../../../../lib/context/aws/aws-input';
import { matchesAllowlist, MAX_TRIGGER_CLAIM_SKEW_MS, ruleAlarmNames, trustedTriggerTime } from '../../../../lib/context/aws/trust';

const CREATED = '2026-03-10T03:12:30Z';

describe('the trigger time an alert claims', () => {
  it('is used within 15 minutes of the incident creation', () => {
    expect(trustedTriggerTime('2026-03-10T03:00:00.000+0000', CREATED)).toEqual({ at: new Date('2026-03-10T03:00:00Z') });
    expect(trustedTriggerTime(undefined, CREATED)).toEqual({ at: new Date(CREATED) });
  });

  it('is replaced by the creation time, and said so, when months away or not a time', () => {
    expect(trustedTriggerTime('2025-11-01T00:00:00Z', CREATED)).toEqual({
      at: new Date(CREATED),
      notFollowed:
        "the alert's trigger time 2025-11-01T00:00:00.000Z is 129 days before the incident's creation; the window uses the creation",
    });
    expect(trustedTriggerTime('2026-03-10T03:40:00Z', CREATED).notFollowed).toMatch(/is 28 min after the incident's creation/);
    expect(trustedTriggerTime('yesterday', CREATED).notFollowed).toMatch(/^the alert's trigger time is not a time/);
  });

  it('never takes the window further than 15 minutes from the creation, whatever the alert says', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), (claimed) => {
        const { at } = trustedTriggerTime(claimed.toISOString(), CREATED);
        return Math.abs(at.getTime() - Date.parse(CREATED)) <= MAX_TRIGGER_CLAIM_SKEW_MS;
      }),
      { seed: 19 },
    );
  });
});

describe('allowlists and composite rules', () => {
  it('matches exact names and trailing-star prefixes only', () => {
    expect(matchesAllowlist('checkout-api', ['checkout-*'])).toBe(true);
    expect(matchesAllowlist('checkout-api', ['checkout-api'])).toBe(true);
    expect(matchesAllowlist('payroll-export', ['checkout-*', 'checkout'])).toBe(false);
    expect(matchesAllowlist('xcheckout-api', ['checkout-*'])).toBe(false);
  });

  it("names the alarms of a composite rule, quoted, bare or by ARN, leaving out another account's", () => {
    const rule =
      'ALARM("checkout-errors") AND NOT OK(\'db cpu\') OR (ALARM(arn:aws:cloudwatch:eu-west-1:123456789012:alarm:queue-depth) ' +
      'OR ALARM(arn:aws:cloudwatch:eu-west-1:999999999999:alarm:theirs) OR INSUFFICIENT_DATA(checkout-errors))';
    expect(ruleAlarmNames(rule, '123456789012')).toEqual(['checkout-errors', 'db cpu', 'queue-depth']);
  });
});

describe('the key a CloudTrail lookup is shared under', () => {
  it('names the credentials used and the region, never an account, and hides the role and external id', () => {
    expect(changeLookupKey({ region: 'eu-west-1' }, 'orders-api')).toBe('own|eu-west-1|orders-api');
    const role = { region: 'eu-west-1', roleArn: 'arn:aws:iam::210987654321:role/reader', externalId: 'pd-agent-external-0001' };
    const key = changeLookupKey(role, 'orders-api');
    expect(key).toMatch(/^[0-9a-f]{32}\|eu-west-1\|orders-api$/);
    expect(key).not.toMatch(/210987654321|pd-agent-external/);
    expect(changeLookupKey({ ...role, externalId: 'another-external-id' }, 'orders-api')).not.toBe(key);
    expect(changeLookupKey({ ...role, region: 'us-east-1' }, 'orders-api')).not.toBe(key);
  });
});
