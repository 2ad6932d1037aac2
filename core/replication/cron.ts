/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week, UTC), as EventBridge
 * and crontab read them: `*`, `*\/n`, `a-b`, `a-b/n` and lists; day-of-week 0-7 (0 and 7 are Sunday).
 * When both day fields are restricted, either matching is enough (crontab's rule).
 */
export interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  anyDay: boolean;
  anyWeekday: boolean;
}

const FIELDS: Array<[name: string, min: number, max: number]> = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 7],
];

export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new RangeError(`cron ${JSON.stringify(expression)}: five fields (minute hour day month weekday, UTC)`);
  const sets = parts.map((part, i) => field(part, ...(FIELDS[i] as [string, number, number])));
  const weekdays = sets[4] as Set<number>;
  if (weekdays.has(7)) weekdays.add(0);
  return {
    minutes: sets[0] as Set<number>,
    hours: sets[1] as Set<number>,
    days: sets[2] as Set<number>,
    months: sets[3] as Set<number>,
    weekdays,
    anyDay: parts[2] === '*',
    anyWeekday: parts[4] === '*',
  };
}

/** Whether the minute starting at `ms` (UTC) is one the expression names. */
export function cronMatches(cron: Cron, ms: number): boolean {
  const d = new Date(ms);
  if (!cron.minutes.has(d.getUTCMinutes()) || !cron.hours.has(d.getUTCHours()) || !cron.months.has(d.getUTCMonth() + 1)) return false;
  const day = cron.days.has(d.getUTCDate());
  const weekday = cron.weekdays.has(d.getUTCDay());
  if (cron.anyDay || cron.anyWeekday) return day && weekday;
  return day || weekday;
}

function field(text: string, name: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new RangeError(`cron ${name} ${JSON.stringify(text)}: use *, n, a-b, */n or lists`);
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < min || to > max || from > to || step < 1) throw new RangeError(`cron ${name} ${JSON.stringify(item)}: out of ${min}-${max}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}
