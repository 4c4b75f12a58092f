import type { Analyser } from './analyser';
import { accountChanges } from './account-changes';
import { alertDetails } from './alert-details';
import { flapping } from './flapping';
import { likelyCause } from './likely-cause';
import { recentChange } from './recent-change';
import { recurrence } from './recurrence';

export type { Analyser } from './analyser';

/** The built-in analysers, in the order their evidence is shown when weights tie. */
export const BUILT_IN_ANALYSERS: readonly Analyser[] = [likelyCause, recentChange, recurrence, flapping, alertDetails, accountChanges];
