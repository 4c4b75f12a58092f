import type { AwsContext, AwsContextSource, ChangeRecord, LogSurge } from '../evidence';
import { runProviders, type ContextProvider } from '../provider';
import { alarmHistoryProvider } from './alarm-provider';
import { awsInputHas, type AwsProviderInput } from './aws-input';
import { changeProvider } from './change-provider';
import { logSurgeProvider } from './log-surge-provider';
import { metricProvider } from './metric-provider';

/** The AWS providers, one per source of AwsContext; a test or a benchmark may pass its own. */
export interface AwsProviders {
  alarm: ContextProvider<AwsProviderInput, AwsContext['alarm']>;
  metric: ContextProvider<AwsProviderInput, AwsContext['metric']>;
  changes: ContextProvider<AwsProviderInput, ChangeRecord[]>;
  logs: ContextProvider<AwsProviderInput, LogSurge[] | undefined>;
}

export const AWS_PROVIDERS: AwsProviders = {
  alarm: alarmHistoryProvider,
  metric: metricProvider,
  changes: changeProvider,
  logs: logSurgeProvider,
};

/** Runs every AWS provider at once; what failed is listed in `unavailable` with its reason. */
export async function gatherAwsContext(input: AwsProviderInput, providers: AwsProviders = AWS_PROVIDERS): Promise<AwsContext> {
  const run = await runProviders<AwsProviderInput, { [Source in AwsContextSource]: Awaited<ReturnType<AwsProviders[Source]['run']>> }>(
    providers,
    input,
    awsInputHas,
  );
  return {
    region: input.scope.region,
    accountId: input.scope.accountId,
    alarm: run.results.alarm,
    metric: run.results.metric,
    changes: (run.results.changes ?? []).filter((change) => change.accountWide !== true),
    accountChanges: (run.results.changes ?? []).filter((change) => change.accountWide === true),
    logSurges: run.results.logs ?? [],
    unavailable: run.unavailable,
  };
}
