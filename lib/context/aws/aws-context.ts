import type { AwsContext, AwsContextSource, ChangeRecord, LogSurge } from '../evidence';
import { runProviders, type ContextProvider } from '../provider';
import { alarmDefinitionProvider, alertFromDefinition } from './alarm-definition';
import { alarmHistoryProvider } from './alarm-provider';
import { alarmNameOf, awsInputHas, type AwsProviderInput, type VerifiedAlarm } from './aws-input';
import { changeProvider } from './change-provider';
import { logSurgeProvider } from './log-surge-provider';
import { logGroupsFor } from './mapping';
import { metricProvider } from './metric-provider';

/** The AWS providers, one per source of AwsContext, and the alarm lookup they start from; a test or a benchmark may pass its own. */
export interface AwsProviders {
  definition: ContextProvider<AwsProviderInput, VerifiedAlarm | undefined>;
  alarm: ContextProvider<AwsProviderInput, AwsContext['alarm']>;
  metric: ContextProvider<AwsProviderInput, AwsContext['metric']>;
  changes: ContextProvider<AwsProviderInput, ChangeRecord[]>;
  logs: ContextProvider<AwsProviderInput, LogSurge[] | undefined>;
}

export const AWS_PROVIDERS: AwsProviders = {
  definition: alarmDefinitionProvider,
  alarm: alarmHistoryProvider,
  metric: metricProvider,
  changes: changeProvider,
  logs: logSurgeProvider,
};

const SOURCES: AwsContextSource[] = ['alarm', 'metric', 'changes', 'logs'];

export interface AwsGatherOptions {
  /** The read region is the alert's (no mapping names one): read nothing there unless the alarm is verified there. */
  regionClaimed?: boolean;
  /** Claims of the alert already not followed (region, account, trigger time). */
  notFollowed?: string[];
}

type Verification = { alarm: VerifiedAlarm } | { refused: string } | { notAnAlarm: true };

async function verify(input: AwsProviderInput, providers: AwsProviders): Promise<Verification> {
  if (alarmNameOf(input.alert) === undefined) return { notAnAlarm: true };
  const run = await runProviders<AwsProviderInput, { definition: VerifiedAlarm | undefined }>(
    { definition: providers.definition },
    input,
    awsInputHas,
  );
  const alarm = run.results.definition;
  if (alarm !== undefined) return { alarm };
  return { refused: run.unavailable[0]?.reason ?? 'the alarm could not be looked up' };
}

/**
 * Looks the alert's alarm up first; then runs every AWS provider at once on what the alarm's definition names (or,
 * for an alert that is no CloudWatch alarm or whose alarm was not verified, on the service's mapping alone). What
 * failed is listed in `unavailable` with its reason, what the alert claimed and was not followed in `notFollowed`.
 */
export async function gatherAwsContext(
  input: AwsProviderInput,
  providers: AwsProviders = AWS_PROVIDERS,
  options: AwsGatherOptions = {},
): Promise<AwsContext> {
  const notFollowed = [...(options.notFollowed ?? [])];
  const verification = await verify(input, providers);
  const base = { region: input.scope.region, accountId: input.scope.accountId, changes: [], logSurges: [], notFollowed };
  if ('refused' in verification && options.regionClaimed === true) {
    // The region was only the alert's word, and the alarm is not there: nothing at all is read in it.
    const others = `not read: ${input.scope.region} is the alert's own region and its alarm was not verified there`;
    return { ...base, unavailable: SOURCES.map((source) => ({ source, reason: source === 'alarm' ? verification.refused : others })) };
  }
  // Without a verified alarm the providers see no alert: only what the service's mapping names is read.
  const trusted: AwsProviderInput =
    'alarm' in verification
      ? {
          ...input,
          alert: alertFromDefinition(input.alert ?? { monitor: 'cloudwatch', details: [] }, verification.alarm),
          alarm: verification.alarm,
          scope: { ...input.scope, accountId: verification.alarm.accountId },
        }
      : { ...input, alert: undefined };
  const refused = 'refused' in verification ? [{ source: 'alarm' as const, reason: verification.refused }] : [];
  if (refused.length > 0 && !awsInputHas(trusted, 'mapping')) {
    // Nothing the mapping names either: the refusal is the whole answer.
    return { ...base, unavailable: refused };
  }
  const refusedGroups = logGroupsFor(trusted.alert, trusted.scope).refused;
  for (const group of refusedGroups) notFollowed.push(`the log group ${group} is outside this service's logGroupPrefixes: not read`);
  const run = await runProviders<AwsProviderInput, { [Source in AwsContextSource]: Awaited<ReturnType<AwsProviders[Source]['run']>> }>(
    { alarm: providers.alarm, metric: providers.metric, changes: providers.changes, logs: providers.logs },
    trusted,
    awsInputHas,
  );
  return {
    ...base,
    accountId: trusted.scope.accountId,
    alarm: run.results.alarm,
    metric: run.results.metric,
    changes: (run.results.changes ?? []).filter((change) => change.accountWide !== true),
    accountChanges: (run.results.changes ?? []).filter((change) => change.accountWide === true),
    logSurges: run.results.logs ?? [],
    unavailable: [...refused, ...run.unavailable],
  };
}
