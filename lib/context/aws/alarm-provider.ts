import { DescribeAlarmHistoryCommand, type AlarmHistoryItem } from '@aws-sdk/client-cloudwatch';
import type { AlarmHistorySummary } from '../evidence';
import type { ContextProvider } from '../provider';
import { alarmNameOf, type AwsProviderInput } from './aws-input';
import { awsRead } from './aws-failures';
import { alarmConsoleUrl } from './console-links';

/**
 * How often this alarm (not a title) changed state in the 24 h before the trigger: flapping of the alarm itself.
 * `DescribeAlarmHistory` with HistoryItemType StateUpdate, pages followed within the request budget; like
 * DescribeAlarms it answers for composite alarms only when `AlarmTypes` asks for them. A composite alarm's rule and
 * its children in ALARM come with the summary.
 */
const HISTORY_HOURS = 24;
const PAGE_SIZE = 100;

function newState(item: AlarmHistoryItem): string | undefined {
  try {
    const data = JSON.parse(item.HistoryData ?? '') as { newState?: { stateValue?: unknown } };
    if (typeof data.newState?.stateValue === 'string') return data.newState.stateValue;
  } catch {
    // Fall back on the summary ("Alarm updated from OK to ALARM").
  }
  return /to (\w+)\s*$/.exec(item.HistorySummary ?? '')?.[1];
}

export const alarmHistoryProvider: ContextProvider<AwsProviderInput, AlarmHistorySummary | undefined> = {
  name: 'alarm',
  needs: ['alert'],
  budget: { timeMs: 2500, requests: 3 },
  async run(input, { signal, requests }) {
    const alarmName = alarmNameOf(input.alert);
    if (alarmName === undefined) return undefined;
    const { region, accountId } = input.scope;
    const resource = `arn:aws:cloudwatch:${region}:${accountId ?? '<account>'}:alarm:${alarmName}`;
    const items: AlarmHistoryItem[] = [];
    let nextToken: string | undefined;
    do {
      requests.take('cloudwatch:DescribeAlarmHistory');
      const page = await awsRead({ action: 'cloudwatch:DescribeAlarmHistory', resource }, () =>
        input.clients.cloudWatch.send(
          new DescribeAlarmHistoryCommand({
            AlarmName: alarmName,
            HistoryItemType: 'StateUpdate',
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            StartDate: new Date(input.triggeredAt.getTime() - HISTORY_HOURS * 3600_000),
            // A minute past the trigger so the flip that paged is counted too.
            EndDate: new Date(input.triggeredAt.getTime() + 60_000),
            MaxRecords: PAGE_SIZE,
            NextToken: nextToken,
          }),
          { abortSignal: signal },
        ),
      );
      items.push(...(page.AlarmHistoryItems ?? []));
      nextToken = page.NextToken;
    } while (nextToken !== undefined && requests.remaining > 0);
    const updates = items.filter((item) => item.HistoryItemType === undefined || item.HistoryItemType === 'StateUpdate');
    return {
      alarmName,
      alarmsLast24h: updates.filter((item) => newState(item) === 'ALARM').length,
      flipsLast24h: updates.length,
      consoleUrl: alarmConsoleUrl(region, alarmName),
      ...(input.alarm?.composite === undefined ? {} : { composite: input.alarm.composite }),
    };
  },
};
