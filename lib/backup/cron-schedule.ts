/**
 * Five-field cron schedules as Kubernetes CronJobs read them (minute hour day-of-month month
 * day-of-week; numbers, `*`, ranges, lists and steps), parsed to check a store's backup schedules
 * at synth time: each runs at least as often as its kind must, and no two start together.
 */

/** A parse failure: what is wrong with which field. */
export class CronScheduleError extends Error {}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

/** A parsed five-field cron schedule: the values each field matches, as {@link parseCron} returns it. */
export interface CronSchedule {
  /** The schedule as given (also the key {@link startMinutes} caches its result under). */
  readonly expression: string;
  /** Minutes of the hour it starts at, 0-59. */
  readonly minutes: ReadonlySet<number>;
  /** Hours of the day it starts in, 0-23. */
  readonly hours: ReadonlySet<number>;
  /** Days of the month it may run on, 1-31 (see {@link CronSchedule.dayOfMonthRestricted}). */
  readonly daysOfMonth: ReadonlySet<number>;
  /** Months it runs in, 1-12. */
  readonly months: ReadonlySet<number>;
  /** 0-6, Sunday 0 (7 folded into 0). */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either runs. */
  readonly dayOfMonthRestricted: boolean;
  /** The day-of-week field is not `*` (see {@link CronSchedule.dayOfMonthRestricted}). */
  readonly dayOfWeekRestricted: boolean;
}

/**
 * Parses a five-field cron expression (minute hour day-of-month month day-of-week) of numbers,
 * ranges, lists, steps and `*`; names (`MON`), macros (`@daily`) and values outside a field's range
 * are refused.
 * @throws CronScheduleError naming the field
 */
export function parseCron(expression: string): CronSchedule {
  if (typeof expression !== 'string') throw new CronScheduleError('a schedule must be a string');
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronScheduleError(`five fields (minute hour day-of-month month day-of-week) are needed, ${parts.length} were given`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]));
  const daysOfWeek = new Set([...sets[4]].map((d) => d % 7));
  return {
    expression,
    minutes: sets[0], hours: sets[1], daysOfMonth: sets[2], months: sets[3], daysOfWeek,
    dayOfMonthRestricted: parts[2] !== '*',
    dayOfWeekRestricted: parts[4] !== '*',
  };
}

function parseField(text: string, field: { name: string; min: number; max: number }): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new CronScheduleError(`the ${field.name} field "${text}" is not a number, range, list, step or *`);
    const from = match[1] === '*' ? field.min : Number(match[2]);
    const to = match[1] === '*' ? field.max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? field.max : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (from < field.min || to > field.max || from > to || step < 1) {
      throw new CronScheduleError(`the ${field.name} field "${text}" is outside ${field.min}-${field.max}`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** Whether the schedule runs on a calendar day (UTC date parts of `day`). */
function runsOn(s: CronSchedule, day: Date): boolean {
  if (!s.months.has(day.getUTCMonth() + 1)) return false;
  const dom = s.daysOfMonth.has(day.getUTCDate());
  const dow = s.daysOfWeek.has(day.getUTCDay());
  if (s.dayOfMonthRestricted && s.dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}

// Two years from a Monday: every day-of-week, day-of-month and month combination, a leap day too.
const WINDOW_START = Date.UTC(2027, 0, 4);
const WINDOW_DAYS = 731;
const MINUTE_MS = 60_000;

const startsByExpression = new Map<string, number[]>();

/** Start times (minutes since the window's start) of a schedule over the two-year reference window. */
export function startMinutes(s: CronSchedule): number[] {
  const known = startsByExpression.get(s.expression);
  if (known) return known;
  const times = [...s.hours].sort((a, b) => a - b).flatMap((h) => [...s.minutes].sort((a, b) => a - b).map((m) => h * 60 + m));
  const starts: number[] = [];
  for (let d = 0; d < WINDOW_DAYS; d++) {
    if (!runsOn(s, new Date(WINDOW_START + d * 1440 * MINUTE_MS))) continue;
    for (const t of times) starts.push(d * 1440 + t);
  }
  startsByExpression.set(s.expression, starts);
  return starts;
}

/**
 * The longest time between two starts within the reference window, in minutes (infinite for
 * fewer than two starts). Two years hold every weekday, month length and a leap day, so a gap that
 * can happen happens inside it.
 */
export function longestGapMinutes(starts: readonly number[]): number {
  if (starts.length < 2) return Number.POSITIVE_INFINITY;
  let gap = 0;
  for (let i = 1; i < starts.length; i++) gap = Math.max(gap, starts[i] - starts[i - 1]);
  return gap;
}

/** The first start minute two schedules share, if any (both ascending, as {@link startMinutes} gives them). */
export function firstCommonStart(a: readonly number[], b: readonly number[]): number | undefined {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) return a[i];
    if (a[i] < b[j]) i++;
    else j++;
  }
  return undefined;
}

/** A window minute as a readable `YYYY-MM-DD HH:MM` of the reference window. */
export function describeStart(minute: number): string {
  return new Date(WINDOW_START + minute * MINUTE_MS).toISOString().slice(0, 16).replace('T', ' ');
}
