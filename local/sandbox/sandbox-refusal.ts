/** A request PagerDuty would refuse: mapped to its HTTP status and error body by the route layer. */
export class SandboxRefusal extends Error {
  override readonly name = 'SandboxRefusal';
  constructor(
    readonly status: number,
    readonly code: number,
    readonly pagerDutyMessage: string,
    readonly details: string[] = [],
  ) {
    super(`${pagerDutyMessage} (${code})`);
  }
}
