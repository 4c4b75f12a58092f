import { SandboxRefusal } from './sandbox-refusal';

export type RefusedWrite = 'escalate' | 'assign';

/**
 * Writes the sandbox's PagerDuty refuses, for every incident or one: an escalation (to a level or a policy) with 400 /
 * 1006 "Cannot Escalate", as when the level does not exist or nobody is on call there; a direct assignment with 403 /
 * 2010 "Access Denied", as when the key's user may not assign those people. They hold until `allow`.
 */
export class WriteRefusals {
  private readonly refused = new Set<string>();

  refuse(kind: RefusedWrite, incidentId?: string): void {
    this.refused.add(incidentId === undefined ? kind : `${kind}#${incidentId}`);
  }

  allow(kind: RefusedWrite, incidentId?: string): void {
    this.refused.delete(incidentId === undefined ? kind : `${kind}#${incidentId}`);
  }

  /** Throws PagerDuty's refusal when this write is refused for this incident. */
  check(kind: RefusedWrite, incidentId: string): void {
    if (!this.refused.has(kind) && !this.refused.has(`${kind}#${incidentId}`)) return;
    if (kind === 'escalate') throw new SandboxRefusal(400, 1006, 'Cannot Escalate', [`Incident ${incidentId} cannot be escalated`]);
    throw new SandboxRefusal(403, 2010, 'Access Denied', ['The user may not assign this incident to those users']);
  }
}
