import { z } from 'zod';
import type { Resolver } from '../template/intrinsics.ts';
import { parseProperties, resourcesOfType, type Template, TemplateError } from '../template/template.ts';
import type { LocalStateMachine } from './state-machines.ts';

const ScheduleSchema = z
  .object({
    ScheduleExpression: z.string(),
    State: z.enum(['ENABLED', 'DISABLED']).default('ENABLED'),
    Description: z.string().optional(),
    Target: z.object({ Arn: z.string(), Input: z.string().optional() }).loose(),
  })
  .loose();

export interface Schedule {
  logicalId: string;
  expression: string;
  enabled: boolean;
  description?: string;
  target: LocalStateMachine;
  input: unknown;
  /** Next run after `from` (ms since epoch), or undefined when the schedule never fires again. */
  next(from: number): number | undefined;
}

/** The template's EventBridge Scheduler schedules that start its state machines. */
export function schedules(
  template: Template,
  resolver: Resolver,
  machines: readonly LocalStateMachine[],
): Schedule[] {
  return resourcesOfType(template, 'AWS::Scheduler::Schedule').map(([id, resource]) => {
    const props = parseProperties(
      ScheduleSchema,
      id,
      resource.Type,
      resolver.resolve(resource.Properties, id),
    );
    const target = machines.find((m) => m.arn === props.Target.Arn);
    if (!target)
      throw new TemplateError(`${id}: target ${props.Target.Arn} is not a state machine of the template`);
    let input: unknown = {};
    if (props.Target.Input !== undefined) {
      try {
        input = JSON.parse(props.Target.Input);
      } catch {
        throw new TemplateError(`${id}: Target.Input is not JSON`);
      }
    }
    return {
      logicalId: id,
      expression: props.ScheduleExpression,
      enabled: props.State === 'ENABLED',
      ...(props.Description ? { description: props.Description } : {}),
      target,
      input,
      next: nextRun(props.ScheduleExpression, id),
    };
  });
}

/**
 * Runs schedules on their expressions (`rate(…)`, `cron(…)` in UTC, `at(…)`), and all of them once at
 * start when `runNow` is set (`cti-ingest local --pull-now`).
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly list: readonly Schedule[],
    private readonly log: (message: string) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  start(runNow: boolean): void {
    for (const schedule of this.list) {
      if (!schedule.enabled) continue;
      if (runNow) this.fire(schedule);
      this.arm(schedule, this.clock());
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private arm(schedule: Schedule, from: number): void {
    const at = schedule.next(from);
    if (at === undefined || this.stopped) return;
    // setTimeout holds at most ~24.8 days; re-arm in steps for longer periods.
    const delay = Math.min(Math.max(0, at - this.clock()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.clock() + 5 >= at) {
        this.fire(schedule);
        this.arm(schedule, at);
      } else this.arm(schedule, from);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private fire(schedule: Schedule): void {
    if (this.stopped) return;
    const { executionArn } = schedule.target.start(schedule.input);
    this.log(
      `[scheduler] ${schedule.logicalId} (${schedule.expression}) started ${executionArn.split(':').at(-1)}`,
    );
  }
}

const UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** The next-run function of a schedule expression; an expression the runtime cannot follow is an error. */
export function nextRun(expression: string, where: string): (from: number) => number | undefined {
  const rate = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(expression.trim());
  if (rate) {
    const period = Number(rate[1]) * (UNITS[rate[2] ?? ''] ?? 0);
    if (period <= 0) throw new TemplateError(`${where}: ${expression}: the rate must be positive`);
    return (from) => from + period;
  }
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression.trim());
  if (at) {
    const when = Date.parse(`${at[1]}Z`);
    return (from) => (when > from ? when : undefined);
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  if (cron) return cronNext(cron[1] ?? '', `${where}: ${expression}`);
  throw new TemplateError(`${where}: schedule expression ${expression} is not rate(…), cron(…) or at(…)`);
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * AWS cron (`minutes hours day-of-month month day-of-week year`, UTC): `*`, `?`, lists, ranges, steps
 * and names. `L`, `W` and `#` are refused with a clear error rather than approximated.
 */
function cronNext(body: string, where: string): (from: number) => number | undefined {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6)
    throw new TemplateError(`${where}: AWS cron needs 6 fields, found ${fields.length}`);
  if (
    /[LW#]/.test(
      fields
        .slice(2, 5)
        .join(' ')
        .replace(/[A-Z]{3}/g, ''),
    )
  )
    throw new TemplateError(`${where}: L, W and # in cron expressions are not supported locally`);
  const [minutes, hours, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  const sets = {
    minutes: parseField(minutes, 0, 59, [], where),
    hours: parseField(hours, 0, 23, [], where),
    dom: parseField(dom, 1, 31, [], where),
    month: parseField(month, 1, 12, MONTHS, where, 1),
    dow: parseField(dow, 1, 7, DAYS, where, 1),
    year: parseField(year, 1970, 2199, [], where),
  };
  return (from) => {
    const t = new Date(Math.floor(from / 60_000) * 60_000 + 60_000);
    // Minute steps over at most ~5 years: expressions that never match end instead of looping forever.
    for (let i = 0; i < 5 * 366 * 24 * 60; i++) {
      const ok =
        sets.year(t.getUTCFullYear()) &&
        sets.month(t.getUTCMonth() + 1) &&
        sets.dom(t.getUTCDate()) &&
        sets.dow(t.getUTCDay() + 1) &&
        sets.hours(t.getUTCHours()) &&
        sets.minutes(t.getUTCMinutes());
      if (ok) return t.getTime();
      if (!sets.hours(t.getUTCHours()) || !sets.dom(t.getUTCDate()) || !sets.month(t.getUTCMonth() + 1))
        t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      else t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    }
    return undefined;
  };
}

function parseField(
  field: string,
  min: number,
  max: number,
  names: string[],
  where: string,
  nameBase = 0,
): (value: number) => boolean {
  if (field === '*' || field === '?') return () => true;
  const values = new Set<number>();
  const number = (text: string): number => {
    const index = names.indexOf(text.toUpperCase());
    const value = index >= 0 ? index + nameBase : Number(text);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new TemplateError(`${where}: ${text} is not in ${min}-${max}`);
    return value;
  };
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new TemplateError(`${where}: bad step in ${part}`);
    const [startText = '', endText] = range === '*' ? [String(min), String(max)] : range.split('-');
    const start = number(startText);
    const end = endText === undefined ? (stepText === undefined ? start : max) : number(endText);
    for (let v = start; v <= end; v += step) values.add(v);
  }
  return (value) => values.has(value);
}
