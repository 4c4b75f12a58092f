import { join } from 'node:path';
import { alarmNotificationMessage } from './alarm-notification';
import { loadSeedFile, type ParsedAwsSeed } from './seed';

/**
 * The `npm start` scenario of a bad deploy: the CloudWatch alarm on Lambda `checkout-api` errors pages; CloudTrail
 * shows `UpdateFunctionCode` on the function six minutes earlier; its log group shows a TypeError that was never there
 * before the update. Data: `scenarios/lambda-deploy-errors.json` (times relative to the page). A good note names all
 * three; `missingScenarioPhrases` says which it leaves out.
 */

export const LAMBDA_DEPLOY_SEED_FILE = join(__dirname, 'scenarios', 'lambda-deploy-errors.json');

/** PagerDuty's CloudWatch integration titles an incident from the alarm's trigger unless told to use the alarm name. */
export const LAMBDA_DEPLOY_TITLE = 'Sum Errors GreaterThanOrEqualToThreshold 5.0 for FunctionName checkout-api';

/** What the note must name: the alarm that paged, the change before it, and the new error in the function's logs. */
export const LAMBDA_DEPLOY_EXPECTED_PHRASES = {
  alarm: 'checkout-api-errors',
  change: 'UpdateFunctionCode',
  newError: "Cannot read properties of undefined (reading 'amount')",
} as const;

export interface LambdaDeployIncident {
  seed: ParsedAwsSeed;
  alert: { summary: string; severity: 'critical'; alertKey: string; details: Record<string, unknown> };
}

/** The seed and the PagerDuty incident for a page at `now`: the alert carries the alarm's SNS message as `details`. */
export function lambdaDeployIncident(now: Date): LambdaDeployIncident {
  const seed = loadSeedFile(LAMBDA_DEPLOY_SEED_FILE);
  const alarm = seed.alarms.find((candidate) => candidate.AlarmName === LAMBDA_DEPLOY_EXPECTED_PHRASES.alarm);
  if (alarm === undefined) throw new Error(`${LAMBDA_DEPLOY_SEED_FILE} has no alarm ${LAMBDA_DEPLOY_EXPECTED_PHRASES.alarm}.`);
  const details = alarmNotificationMessage(alarm, now);
  return { seed, alert: { summary: LAMBDA_DEPLOY_TITLE, severity: 'critical', alertKey: alarm.AlarmName, details } };
}

/** The expected phrases a note leaves out, reading it as text (markdown escapes and HTML entities undone). */
export function missingScenarioPhrases(note: string): (keyof typeof LAMBDA_DEPLOY_EXPECTED_PHRASES)[] {
  const text = note
    .replace(/\\(.)/g, '$1')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return (Object.keys(LAMBDA_DEPLOY_EXPECTED_PHRASES) as (keyof typeof LAMBDA_DEPLOY_EXPECTED_PHRASES)[]).filter(
    (key) => !text.includes(LAMBDA_DEPLOY_EXPECTED_PHRASES[key]),
  );
}
