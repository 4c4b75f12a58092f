import { buildOutcomeReport, HOLD_READINESS, justifiesHold, type OutcomeReport } from '../../outcomes/outcome-report';
import type { TargetClients } from '../aws-clients';
import type { DoctorCheck } from './doctor';
import type { RuleStanding } from '../../trust/demotion-store';

/** The window doctor judges rules on: long enough for ten confirmations on a rule that fires a few times a week. */
export const DOCTOR_OUTCOME_DAYS = 30;

const readiness = `≥ ${HOLD_READINESS.minConfirmed} confirmed, precision ≥ ${HOLD_READINESS.minPrecision * 100}%, no contradicted hold`;

/** A rule whose hold was contradicted kept a page it misunderstood: that fails the check. */
export function contradictedHoldsCheck(report: OutcomeReport): DoctorCheck {
  const name = 'contradicted holds';
  const offenders = report.byRule.filter((row) => row.contradictedHolds > 0);
  if (offenders.length === 0) return { name, ok: true, detail: `no held incident was contradicted in ${DOCTOR_OUTCOME_DAYS} days` };
  return {
    name,
    ok: false,
    detail: offenders.map((row) => `rule ${row.key}: ${row.contradictedHolds} of ${row.held} hold(s) contradicted`).join('; '),
    fix:
      'The agent held incidents it had misread. Set those rules to "escalate" (or put the service in "note" mode) until the ' +
      `hypothesis is fixed; \`pd-agent report --since ${DOCTOR_OUTCOME_DAYS}d\` lists the verdicts.`,
  };
}

/** Names the rules whose record would justify `hold`; informational, never a failure. */
export function holdReadinessCheck(report: OutcomeReport): DoctorCheck {
  const ready = report.byRule.filter(justifiesHold).map((row) => row.key);
  return {
    name: 'rules ready for hold',
    ok: true,
    detail:
      ready.length === 0
        ? `none yet (${readiness}, over ${DOCTOR_OUTCOME_DAYS} days)`
        : `${ready.join(', ')} (${readiness}, over ${DOCTOR_OUTCOME_DAYS} days)`,
  };
}

/** A demoted rule holds nothing: its incidents go to on-call until a person promotes it. That fails the check. */
export function demotedRulesCheck(standings: readonly RuleStanding[]): DoctorCheck {
  const name = 'demoted rules';
  const demoted = standings.filter((standing) => standing.state === 'demoted');
  if (demoted.length === 0) return { name, ok: true, detail: 'none: every rule may hold' };
  return {
    name,
    ok: false,
    detail: demoted.map((standing) => `rule ${standing.ruleId} since ${standing.demotedAt.slice(0, 16)}Z: ${standing.reason}`).join('; '),
    fix:
      'Read why with pd-agent report and the incident named; fix the rule (or its confidence), then put it back with ' +
      'pd-agent rule promote <id>. Until then its incidents are escalated with the note.',
  };
}

export async function demotionChecks(clients: Pick<TargetClients, 'demotions'>): Promise<DoctorCheck[]> {
  try {
    return [demotedRulesCheck(await clients.demotions.all())];
  } catch (error) {
    return [
      {
        name: 'demoted rules',
        ok: false,
        detail: (error as Error).message,
        fix: 'Check your AWS credentials may scan the state table.',
      },
    ];
  }
}

export async function outcomeChecks(clients: Pick<TargetClients, 'outcomes'>, now = new Date()): Promise<DoctorCheck[]> {
  const since = new Date(now.getTime() - DOCTOR_OUTCOME_DAYS * 86_400_000);
  try {
    const report = buildOutcomeReport(await clients.outcomes.byTimeRange(since, now), { since, until: now });
    return [contradictedHoldsCheck(report), holdReadinessCheck(report)];
  } catch (error) {
    return [
      {
        name: 'outcomes',
        ok: false,
        detail: (error as Error).message,
        fix: 'Check your AWS credentials may query the audit table and its byTime index.',
      },
    ];
  }
}
