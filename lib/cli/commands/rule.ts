import { userInfo } from 'node:os';
import { clientsFor } from '../aws-clients';
import { CliError } from '../cli-error';
import { coloursFor, writeJson, writeLine, type CliIo } from '../output';
import { resolveTarget, type TargetOptions } from '../stack-target';

export interface RulePromoteOptions extends TargetOptions {
  /** Who promotes it, for the audit trail (default: the local user name). */
  by?: string;
  json?: boolean;
}

export interface RulePromoteResult {
  ruleId: string;
  promoted: boolean;
  by: string;
  at: string;
}

const RULE_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * `pd-agent rule promote <id>`: a person puts a demoted rule back in action (docs/rollout-and-outcomes.md "Trust").
 * Conditional: only a demoted rule is promoted; the promotion is audited with who did it. The rule's record starts
 * again from now: the outcomes that demoted it no longer count.
 */
export async function rulePromoteCommand(ruleId: string, options: RulePromoteOptions, io: CliIo): Promise<RulePromoteResult> {
  if (!RULE_ID.test(ruleId)) {
    throw new CliError(
      `"${ruleId.slice(0, 100)}" is not a rule id.`,
      'Give the id of a rule in AGENT_CONFIG triage.rules, as pd-agent report or pd-agent doctor lists it.',
    );
  }
  const by = (options.by ?? userInfo().username).trim();
  if (by === '') throw new CliError('--by is empty.', 'Say who promotes the rule, e.g. --by alice.');
  const target = await resolveTarget(options, io.env);
  const clients = clientsFor(target);
  const at = new Date();
  let promoted: boolean;
  try {
    const standing = (await clients.demotions.standings([ruleId])).get(ruleId);
    if (standing?.state !== 'demoted') {
      throw new CliError(
        `Rule ${ruleId} is not demoted in ${target.name}${standing === undefined ? '' : ` (promoted by ${standing.promotedBy ?? 'someone'} at ${standing.promotedAt ?? 'an unknown time'})`}.`,
        'Nothing to promote; pd-agent doctor lists the demoted rules.',
      );
    }
    promoted = await clients.demotions.promote(ruleId, by, at);
    if (promoted) {
      await clients.audit.record({
        incidentId: null,
        eventId: `rule-promote#${ruleId}#${at.toISOString()}`,
        action: 'record',
        outcome: 'recorded',
        detail: `rule ${ruleId} promoted by ${by} (demoted ${standing.demotedAt}: ${standing.reason}); it may hold again`,
      });
    }
  } finally {
    clients.destroy();
  }
  const result = { ruleId, promoted, by, at: at.toISOString() };
  if (options.json === true) writeJson(io, result);
  else {
    const colours = coloursFor(io.stdout, io.env);
    writeLine(
      io.stdout,
      promoted
        ? `${colours.green('✔')} Rule ${ruleId} promoted by ${by}: it holds again in ${target.name}; its record starts again from now.`
        : `Rule ${ruleId} was promoted by someone else meanwhile: nothing changed.`,
    );
  }
  return result;
}
