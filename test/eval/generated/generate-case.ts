import { metricBehaviour } from '../../../lib/context/aws/metric-provider';
import { analyseMetric, type MetricPoint } from '../../../lib/context/aws/metric-shape';
import type { AwsContext, ChangeRecord, LogSurge, NormalisedAlert } from '../../../lib/context/evidence';
import type { Incident } from '../../../lib/pagerduty/types';
import type { CauseKind, IncidentContext } from '../../../lib/triage/types';
import { ACCOUNT_ACTIONS, KNOWN_ERRORS, NAMES, NEW_ERRORS, PROFILES, type MetricProfile } from './profiles';
import { Random } from './random';

/**
 * One generated incident from one seed: a series with realistic noise (relative noise with a little autocorrelation,
 * a slow wave and rare outliers, or Poisson counts), what happened in it (a step, a spike that came back, a climb
 * towards exhaustion, or nothing), the change and the new errors that caused it when the scenario has them, and
 * decoys: changes on a sibling resource, account-wide changes, a rollback on the resource after the symptoms began,
 * and error lines that were already in the baseline. The truth travels with the case; the analysers never see it.
 */

export type Scenario = 'story' | 'change-step' | 'logs-step' | 'step' | 'spike' | 'climb' | 'quiet';

const SCENARIOS: readonly [Scenario, number][] = [
  ['story', 0.2],
  ['change-step', 0.15],
  ['logs-step', 0.1],
  ['step', 0.2],
  ['spike', 0.1],
  ['climb', 0.1],
  ['quiet', 0.15],
];

const MINUTE = 60_000;
const REGION = 'eu-west-1';
/** The hour the generated incidents happen in; only times relative to it matter. */
const EPOCH = Date.parse('2026-12-07T22:00:00Z');
const DEPLOYERS = ['deploy-role/github-actions', 'codepipeline-prod/deploy', 'terraform-ci/apply'];
const DECOY_PEOPLE = ['alice@example.com', 'ops-admin/bob', 'platform-bot/nightly'];
/** A step this many noise deviations high or more is scored (the issue's "more than 4 robust standard deviations"). */
export const SCORED_STEP_SIGMAS = 4;

export interface Truth {
  scenario: Scenario;
  profile: string;
  /** Causes a right answer may name first (a step with new errors at the same minute: either is right). */
  right: CauseKind[];
  step?: { at: number; sigmas: number; up: boolean };
  spike?: { peakAt: number };
  climb?: boolean;
  /** The change that caused it, as the likely cause must tell it. */
  change?: { target: string; who: string };
  newError?: string;
  /** Changes that are not the cause: on a sibling, account-wide, or a rollback after the symptoms began. */
  decoys: { target: string; who: string }[];
  periodMs: number;
}

export interface GeneratedCase {
  seed: number;
  /** The series the metric analysis read, for replaying a failure. */
  points: MetricPoint[];
  context: IncidentContext;
  truth: Truth;
}

function pickScenario(random: Random): Scenario {
  let roll = random.next();
  for (const [scenario, share] of SCENARIOS) {
    roll -= share;
    if (roll < 0) return scenario;
  }
  return 'quiet';
}

interface Noise {
  values: number[];
  /** The noise's standard deviation, the unit a step's size is measured in. */
  sd: number;
}

/** Relative noise: level × cv, AR(1) up to 0.3, a slow wave up to half a deviation, 2 % outliers of 1.5–2.5 deviations. */
function relativeNoise(random: Random, count: number, level: number): Noise {
  const sd = level * random.between(0.02, 0.12);
  const phi = random.between(0, 0.3);
  const wave = random.between(0, 0.5) * sd;
  const wavePeriod = random.between(30, 120);
  const phase = random.between(0, 2 * Math.PI);
  const innovation = sd * Math.sqrt(1 - phi * phi);
  let previous = random.normal() * sd;
  const values = Array.from({ length: count }, (_, index) => {
    previous = phi * previous + innovation * random.normal();
    const outlier = random.chance(0.02) ? (random.chance(0.5) ? 1 : -1) * random.between(1.5, 2.5) * sd : 0;
    return level + previous + outlier + wave * Math.sin((2 * Math.PI * index) / wavePeriod + phase);
  });
  return { values, sd };
}

function baseSeries(random: Random, profile: MetricProfile, count: number): Noise & { level: number } {
  const level = random.between(...profile.level);
  if (profile.noise === 'poisson') {
    return { values: Array.from({ length: count }, () => random.poisson(level)), sd: Math.max(1, Math.sqrt(level)), level };
  }
  return { ...relativeNoise(random, count, level), level };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function change(at: number, action: string, target: string, who: string, onAlarmedResource: boolean): ChangeRecord {
  return {
    at: iso(at),
    source: 'cloudtrail',
    action,
    who,
    target,
    summary: `${action.split(':')[1]} on ${target}`,
    onAlarmedResource,
    link: `https://${REGION}.console.aws.amazon.com/cloudtrailv2/home?region=${REGION}#/events?ResourceName=${encodeURIComponent(target)}`,
  };
}

function surge(logGroup: string, signature: string, firstSeenAt: number, fresh: boolean, random: Random): LogSurge {
  const before = fresh ? 0 : random.integer(20, 200);
  return {
    logGroup,
    signature,
    example: signature.replace('<n>', '5000').replace('<ip>', '10.0.3.7').replace('<id>', 'a1b2').replace('<*>', "'total'"),
    countRecent: fresh ? random.integer(15, 400) : Math.round(before * random.between(0.6, 1.5)),
    countBefore: before,
    isNew: fresh,
    firstSeenAt: iso(firstSeenAt),
    consoleUrl: `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#logsV2:log-groups`,
  };
}

/** A time in [from, to] outside [avoidFrom, avoidTo] (a decoy never placed where it would line up with the onset). */
function decoyTime(random: Random, from: number, to: number, avoid?: [number, number]): number | undefined {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const at = Math.round(random.between(from, to) / 1000) * 1000;
    if (avoid === undefined || at < avoid[0] || at > avoid[1]) return at;
  }
  return undefined;
}

function incidentAt(createdAt: string): Incident {
  return {
    id: 'PGEN001',
    type: 'incident',
    number: 1,
    title: 'generated',
    status: 'triggered',
    urgency: 'high',
    html_url: 'https://acme.pagerduty.com/incidents/PGEN001',
    created_at: createdAt,
    incident_key: null,
    service: { id: 'PSVCGEN', type: 'service_reference', summary: 'Generated service' },
    escalation_policy: { id: 'PEPGEN1', type: 'escalation_policy_reference' },
    priority: null,
    teams: [],
    assignments: [],
    acknowledgements: [],
    last_status_change_at: createdAt,
    resolved_at: null,
  };
}

export function generateCase(seed: number): GeneratedCase {
  const random = new Random(seed);
  const scenario = pickScenario(random);
  // Only capacity metrics run out; a climb elsewhere has no time to exhaustion to find.
  const profile = random.pick(scenario === 'climb' ? PROFILES.filter((entry) => entry.capacity !== undefined) : PROFILES);
  const name = `${random.pick(NAMES)}-${random.integer(1, 99)}`;
  const resource = profile.resource(name);
  const periodMs = profile.periodSeconds * 1000;
  const before = profile.periodSeconds === 60 ? 60 : 20;
  const count = before + 3;
  const start = EPOCH + random.integer(0, 60) * MINUTE;
  const { values, sd, level } = baseSeries(random, profile, count);
  const time = (index: number): number => start + index * periodMs;
  let triggerIndex = count - 3;
  const truth: Truth = { scenario, profile: `${profile.namespace} ${profile.metric}`, right: ['none'], decoys: [], periodMs };
  let onset: number | undefined;

  if (scenario === 'story' || scenario === 'change-step' || scenario === 'logs-step' || scenario === 'step') {
    // Half the steps land in the last ten datapoints, as most alarms' steps do; the rest anywhere after the start. A
    // step with a cause before it starts late enough for its cause to sit in the agent's 60-minute change window.
    const earliest = scenario === 'step' ? 8 : Math.max(8, count - 3 - Math.floor((45 * MINUTE) / periodMs));
    const index = random.chance(0.5) ? random.integer(count - 10, count - 2) : random.integer(earliest, count - 2);
    // Alarms watch the direction that hurts: counts and used capacity rise, free space falls, the rest mostly rise.
    const up = profile.capacity === 'free' ? false : profile.noise === 'poisson' || profile.capacity !== undefined || random.chance(0.8);
    const maxDown = (0.9 * level) / sd;
    const sigmas = up ? random.between(4.5, 30) : random.between(4.5, Math.max(4.6, Math.min(30, maxDown)));
    for (let i = index; i < count; i += 1) {
      if (profile.noise === 'poisson') values[i] = values[i] + random.poisson(sigmas * sd);
      else values[i] = Math.max(0, values[i] + (up ? 1 : -1) * sigmas * sd);
    }
    triggerIndex = Math.max(triggerIndex, index);
    onset = time(index);
    truth.step = { at: onset, sigmas, up };
    truth.right = ['metric'];
  } else if (scenario === 'spike') {
    const index = random.integer(12, count - 4);
    const sigmas = random.between(8, 40);
    const width = random.integer(1, 2);
    const direction = profile.capacity === 'free' ? -1 : 1;
    const height = Math.min(sigmas * sd, profile.capacity === 'free' ? 0.9 * level : Number.POSITIVE_INFINITY);
    for (let i = index; i < index + width; i += 1) values[i] += direction * (i === index ? 1 : 0.6) * height;
    // The alarm fired on the spike; the series read ends two periods after the trigger, as the provider reads it.
    triggerIndex = index + width;
    values.length = Math.min(count, triggerIndex + 3);
    onset = time(index);
    truth.spike = { peakAt: onset };
    truth.right = ['metric'];
  } else if (scenario === 'climb') {
    const rise = random.between(0.5, 0.9) * (profile.capacity === 'free' ? level : 100 - Math.min(60, level));
    const down = profile.capacity === 'free';
    for (let i = 0; i < count; i += 1) {
      values[i] = (down ? level - (rise * i) / count : Math.min(60, level) + (rise * i) / count) + random.normal() * rise * 0.01;
    }
    truth.climb = true;
    truth.right = ['metric'];
  }
  const trigger = time(triggerIndex);
  const points: MetricPoint[] = values.map((value, index) => ({ at: time(index), value }));

  const changes: ChangeRecord[] = [];
  const logSurges: LogSurge[] = KNOWN_ERRORS.slice(0, random.integer(1, 2)).map((signature) =>
    surge(resource.logGroup, signature, trigger - random.integer(40, 58) * MINUTE, false, random),
  );
  if (onset !== undefined && (scenario === 'story' || scenario === 'change-step')) {
    const who = random.pick(DEPLOYERS);
    const at = onset - random.integer(0, 8) * MINUTE - random.integer(0, 59) * 1000;
    changes.push(change(at, random.pick(profile.actions), resource.trailName, who, true));
    truth.change = { target: resource.trailName, who };
    truth.right = ['change'];
  }
  if (onset !== undefined && (scenario === 'story' || scenario === 'logs-step')) {
    const signature = random.pick(NEW_ERRORS);
    const offset = scenario === 'story' ? random.integer(0, 3) : random.integer(-1, 1);
    logSurges.push(surge(resource.logGroup, signature, onset + offset * MINUTE, true, random));
    truth.newError = signature;
    if (scenario === 'logs-step') truth.right = ['logs', 'metric'];
  }

  // Decoys. A change on a sibling resource lands anywhere in the half hour before the trigger except in step with the
  // onset; account-wide changes land anywhere in the hour; a rollback on the resource comes after the symptoms began.
  const avoid: [number, number] | undefined = onset === undefined ? undefined : [onset - 16 * MINUTE, onset + 3 * MINUTE];
  for (let i = random.integer(0, 2); i > 0; i -= 1) {
    const at = decoyTime(random, trigger - 30 * MINUTE, trigger, avoid);
    if (at === undefined) continue;
    const target = profile.sibling(name);
    const who = random.pick(DECOY_PEOPLE);
    changes.push(change(at, random.pick(profile.siblingActions), target, who, false));
    truth.decoys.push({ target, who });
  }
  // A rollback comes at least 5 min after the onset: a change within 2 min of a step cannot be told from its cause
  // (a datapoint covers its whole period), and the analyser counts it as in step on purpose.
  if (onset !== undefined && trigger - onset > 5 * MINUTE && random.chance(0.3)) {
    const who = 'oncall-rollback/carol';
    changes.push(
      change(
        onset + random.integer(5, Math.floor((trigger - onset) / MINUTE)) * MINUTE,
        random.pick(profile.actions),
        resource.trailName,
        who,
        true,
      ),
    );
    truth.decoys.push({ target: resource.trailName, who });
  }
  const accountChanges = Array.from({ length: random.integer(0, 3) }, () => {
    const [action, target] = random.pick(ACCOUNT_ACTIONS);
    const who = random.pick(DECOY_PEOPLE);
    truth.decoys.push({ target, who });
    return change(trigger - random.integer(0, 59) * MINUTE, action, target, who, false);
  });

  const up = truth.step?.up ?? profile.capacity !== 'free';
  const threshold =
    profile.capacity === 'free' && scenario === 'climb'
      ? { comparison: '<' as const, value: level * 0.3 }
      : { comparison: up ? ('>' as const) : ('<' as const), value: up ? level + 3 * sd : level - 3 * sd };
  const analysis = analyseMetric({ points, threshold, capacity: profile.capacity });
  const label = `${profile.namespace} ${profile.metric} ${Object.entries(resource.dimensions)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ')}`;
  const aws: AwsContext = {
    region: REGION,
    accountId: '123456789012',
    metric: metricBehaviour(
      label,
      profile.unit,
      analysis,
      `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#alarmsV2:`,
    ),
    changes: changes.sort((a, b) => Date.parse(a.at) - Date.parse(b.at)),
    accountChanges,
    logSurges,
    unavailable: [],
  };
  const alert: NormalisedAlert = {
    monitor: 'cloudwatch',
    name: `${name}-${profile.metric}`,
    state: 'ALARM',
    metric: {
      namespace: profile.namespace,
      name: profile.metric,
      statistic: profile.statistic,
      periodSeconds: profile.periodSeconds,
      unit: profile.unit,
    },
    threshold,
    resource: { dimensions: resource.dimensions },
    region: REGION,
    triggeredAt: iso(trigger),
    details: [],
  };
  const context: IncidentContext = {
    incident: incidentAt(iso(trigger + 30_000)),
    alerts: [],
    recentIncidents: [],
    resolutionNotes: {},
    changeEvents: [],
    oncalls: [],
    unavailable: [],
    gatheredAt: iso(trigger + 90_000),
    alert,
    aws,
  };
  return { seed, points, context, truth };
}
