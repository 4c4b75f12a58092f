import type { AwsService } from './protocol';

/**
 * Faults the emulators inject, so the providers' degraded paths can be tested against the errors AWS really sends.
 * Operations are named like IAM actions: `cloudwatch:GetMetricData`, `logs:FilterLogEvents`, `cloudtrail:LookupEvents`,
 * `sts:AssumeRole`; `cloudwatch:*` is every operation of a service, `*` every operation.
 */
export interface AwsFaults {
  /** Answered with the service's access-denied error, as for a role without the permission. */
  accessDenied?: string[];
  /** Answered with the service's throttling error: the next N calls, or every call (`'always'`). */
  throttled?: Record<string, number | 'always'>;
  /** Added before every answer (the benchmark uses 100 ms, roughly a cross-region call). */
  latencyMs?: number;
}

export type InjectedFault = 'accessDenied' | 'throttled';

const matches = (pattern: string, service: AwsService, operation: string): boolean =>
  pattern === '*' || pattern === `${service}:*` || pattern === `${service}:${operation}`;

export class FaultPlan {
  private faults: AwsFaults = {};
  private throttleBudget = new Map<string, number | 'always'>();

  set(faults: AwsFaults): void {
    this.faults = faults;
    this.throttleBudget = new Map(Object.entries(faults.throttled ?? {}));
  }

  get latencyMs(): number {
    return this.faults.latencyMs ?? 0;
  }

  /** The fault this call meets, if any; spends one throttled call of a counted budget. */
  take(service: AwsService, operation: string): InjectedFault | undefined {
    if ((this.faults.accessDenied ?? []).some((pattern) => matches(pattern, service, operation))) return 'accessDenied';
    for (const [pattern, budget] of this.throttleBudget) {
      if (!matches(pattern, service, operation)) continue;
      if (budget === 'always') return 'throttled';
      if (budget > 0) {
        this.throttleBudget.set(pattern, budget - 1);
        return 'throttled';
      }
    }
    return undefined;
  }
}
