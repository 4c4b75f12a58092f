import { RateLimitPacer } from '../../../lib/pagerduty/rate-limit-pacer';

describe('RateLimitPacer', () => {
  let now = 0;
  const pacer = (): RateLimitPacer => new RateLimitPacer({ now: () => now });
  beforeEach(() => {
    now = 1_000_000;
  });

  it('lets requests go while nothing is known about the window', () => {
    const paced = pacer();
    expect([paced.nextRequestDelayMs(), paced.nextRequestDelayMs()]).toEqual([0, 0]);
  });

  it('counts requests down from what PagerDuty said and holds back a reserve until the window resets', () => {
    const paced = pacer();
    paced.observe({ limit: 100, remaining: 4, resetSeconds: 6 });
    // A reserve of 2 (2% of 100, at least 2): requests 4 and 3 go, then the pacer waits for the reset.
    expect(paced.nextRequestDelayMs()).toBe(0);
    expect(paced.nextRequestDelayMs()).toBe(0);
    expect(paced.nextRequestDelayMs()).toBe(6000);
    now += 2500;
    expect(paced.nextRequestDelayMs()).toBe(3500);
    now += 3500;
    expect(paced.nextRequestDelayMs()).toBe(0);
  });

  it('scales the reserve with the limit, so environments sharing a key rarely overshoot', () => {
    const paced = pacer();
    paced.observe({ limit: 960, remaining: 20, resetSeconds: 30 });
    expect(paced.nextRequestDelayMs()).toBe(30_000);
  });

  it('waits out the reset after a 429 said nothing remains', () => {
    const paced = pacer();
    paced.observe({ limit: 960, remaining: 0, resetSeconds: 12 });
    expect(paced.nextRequestDelayMs()).toBe(12_000);
  });

  it('ignores answers without rate-limit headers', () => {
    const paced = pacer();
    paced.observe({ limit: 960, remaining: 0, resetSeconds: 12 });
    paced.observe({ limit: null, remaining: null, resetSeconds: null });
    expect(paced.nextRequestDelayMs()).toBe(12_000);
  });
});
