/**
 * A CloudWatch alarm's rule as the synthesized template states it, evaluated over synthetic datapoints: the metric-math
 * subset the stack's alarms use (numbers, query ids, `+ - * /`, comparisons, parentheses, `FILL(series, value)` and
 * `IF(condition, then, else)`), then the threshold, the M-of-N datapoints and missing data treated as not breaching.
 * Each period is evaluated on its own, as metric math does for series aligned on one period.
 */

/** One period's value of each metric query, by id; undefined when the metric published nothing in that period. */
export type PeriodValues = Readonly<Record<string, number | undefined>>;

export class AlarmRuleError extends Error {
  override readonly name = 'AlarmRuleError';
}

type Token = { kind: 'number'; value: number } | { kind: 'name'; name: string } | { kind: 'op'; op: string };

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/()<>,])|(\S))/gy;
  for (let match = pattern.exec(expression); match !== null && match[0] !== ''; match = pattern.exec(expression)) {
    const [, number, name, op, other] = match;
    if (number !== undefined) tokens.push({ kind: 'number', value: Number(number) });
    else if (name !== undefined) tokens.push({ kind: 'name', name });
    else if (op !== undefined) tokens.push({ kind: 'op', op });
    else throw new AlarmRuleError(`unexpected "${other}" in ${expression}`);
  }
  return tokens;
}

type Value = number | undefined;
const arithmetic = (op: string, a: Value, b: Value): Value => {
  if (a === undefined || b === undefined) return undefined;
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? undefined : a / b;
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '==':
      return a === b ? 1 : 0;
    default:
      return a !== b ? 1 : 0;
  }
};

/** The expression's value in one period; undefined when metric math would drop the point. */
export function evaluateExpression(expression: string, values: PeriodValues): Value {
  const tokens = tokenize(expression);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const takeOp = (...ops: string[]): string | undefined => {
    const token = peek();
    if (token?.kind === 'op' && ops.includes(token.op)) {
      position += 1;
      return token.op;
    }
    return undefined;
  };
  const expect = (op: string): void => {
    if (takeOp(op) === undefined) throw new AlarmRuleError(`expected "${op}" at token ${position} of ${expression}`);
  };

  const comparison = (): Value => {
    const left = additive();
    const op = takeOp('>=', '<=', '==', '!=', '>', '<');
    return op === undefined ? left : arithmetic(op, left, additive());
  };
  const additive = (): Value => {
    let value = term();
    for (let op = takeOp('+', '-'); op !== undefined; op = takeOp('+', '-')) value = arithmetic(op, value, term());
    return value;
  };
  const term = (): Value => {
    let value = factor();
    for (let op = takeOp('*', '/'); op !== undefined; op = takeOp('*', '/')) value = arithmetic(op, value, factor());
    return value;
  };
  const factor = (): Value => {
    const token = peek();
    if (token === undefined) throw new AlarmRuleError(`${expression} ends too early`);
    position += 1;
    if (token.kind === 'number') return token.value;
    if (token.kind === 'op') {
      if (token.op === '-') return arithmetic('-', 0, factor());
      if (token.op !== '(') throw new AlarmRuleError(`unexpected "${token.op}" in ${expression}`);
      const inner = comparison();
      expect(')');
      return inner;
    }
    if (takeOp('(') === undefined) {
      if (!(token.name in values)) throw new AlarmRuleError(`${expression} names "${token.name}", which is no metric query of the alarm`);
      return values[token.name];
    }
    const args: Value[] = [comparison()];
    while (takeOp(',') !== undefined) args.push(comparison());
    expect(')');
    if (token.name === 'FILL' && args.length === 2) return args[0] ?? args[1];
    if (token.name === 'IF' && args.length === 3) return args[0] === undefined ? undefined : args[0] !== 0 ? args[1] : args[2];
    throw new AlarmRuleError(`${token.name} with ${args.length} arguments is not evaluated here`);
  };

  const value = comparison();
  if (position !== tokens.length) throw new AlarmRuleError(`${expression} has extra tokens from ${position}`);
  return value;
}

type Comparison = 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';

export interface AlarmRule {
  /** The math expression whose result the alarm watches, or a single metric query's id. */
  expression: string;
  metricIds: string[];
  threshold: number;
  comparison: Comparison;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: string;
}

interface AlarmQuery {
  Id: string;
  Expression?: string;
  MetricStat?: unknown;
  ReturnData?: boolean;
}

/** The rule of an `AWS::CloudWatch::Alarm` resource's properties (metric-math alarms: the query that returns data). */
export function alarmRuleOf(properties: Record<string, unknown>): AlarmRule {
  const queries = properties.Metrics as AlarmQuery[] | undefined;
  if (queries === undefined) throw new AlarmRuleError('only metric-math alarms (Metrics) are evaluated here');
  const returned = queries.filter((query) => query.ReturnData !== false);
  if (returned.length !== 1) throw new AlarmRuleError(`an alarm returns exactly one query; this one returns ${returned.length}`);
  const [watched] = returned;
  return {
    expression: watched.Expression ?? watched.Id,
    metricIds: queries.filter((query) => query.MetricStat !== undefined).map((query) => query.Id),
    threshold: properties.Threshold as number,
    comparison: properties.ComparisonOperator as Comparison,
    evaluationPeriods: properties.EvaluationPeriods as number,
    datapointsToAlarm: (properties.DatapointsToAlarm as number | undefined) ?? (properties.EvaluationPeriods as number),
    treatMissingData: (properties.TreatMissingData as string | undefined) ?? 'missing',
  };
}

const breaches = (value: number, threshold: number, comparison: Comparison): boolean =>
  comparison === 'GreaterThanOrEqualToThreshold'
    ? value >= threshold
    : comparison === 'GreaterThanThreshold'
      ? value > threshold
      : comparison === 'LessThanThreshold'
        ? value < threshold
        : value <= threshold;

/** Whether the alarm is in ALARM after `periods` (oldest first): M of the last N periods breach; missing ones do not. */
export function alarmFires(rule: AlarmRule, periods: readonly PeriodValues[]): boolean {
  if (rule.treatMissingData !== 'notBreaching') throw new AlarmRuleError(`treatMissingData ${rule.treatMissingData} is not evaluated here`);
  const window = periods.slice(-rule.evaluationPeriods);
  const breaching = window.filter((values) => {
    const value = evaluateExpression(rule.expression, values);
    return value !== undefined && breaches(value, rule.threshold, rule.comparison);
  });
  return breaching.length >= rule.datapointsToAlarm;
}
