// Five-field cron expressions (minute hour day-of-month month day-of-week), in UTC: `*`, lists
// `1,15`, ranges `1-5`, steps `*/10` and `8-18/2`; day-of-week 0-7 (0 and 7 are Sunday). As in
// Vixie cron, when both day fields are restricted a day matching either one fires.
export type CronSpec = {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  dayRestricted: boolean;
  weekdayRestricted: boolean;
};

export class CronError extends Error {
  override name = "CronError";
}

const FIELDS: [string, number, number][] = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12],
  ["day of week", 0, 7],
];

function parseField(text: string, [name, min, max]: [string, number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!match) throw new CronError(`${name}: "${part}" is not a number, range, list or step`);
    const step = match[4] === undefined ? 1 : Number(match[4]);
    let from = min;
    let to = max;
    if (match[1] !== "*") {
      from = Number(match[2]);
      to = match[3] === undefined ? (match[4] === undefined ? from : max) : Number(match[3]);
    }
    if (from < min || to > max || from > to || step < 1) {
      throw new CronError(`${name}: "${part}" is outside ${min}-${max}`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

export function parseCron(expression: string): CronSpec {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    throw new CronError("a cron expression has five fields: minute hour day month weekday");
  const [minutes, hours, days, months, weekdays] = fields.map((field, i) =>
    parseField(field, FIELDS[i] as [string, number, number]),
  ) as Set<number>[];
  if (weekdays?.has(7)) weekdays.add(0);
  return {
    minutes: minutes as Set<number>,
    hours: hours as Set<number>,
    days: days as Set<number>,
    months: months as Set<number>,
    weekdays: weekdays as Set<number>,
    dayRestricted: fields[2] !== "*",
    weekdayRestricted: fields[4] !== "*",
  };
}

/** The first minute strictly after `after` (Unix ms) that matches, or null if none within ~5 years. */
export function nextCronTime(spec: CronSpec, after: number): number | null {
  const t = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  // Bounded: day by day at most ~5 years (Feb 29 on a Monday can take that long), then minute by minute.
  for (let dayCount = 0; dayCount < 366 * 5; dayCount++) {
    const dayOk = (() => {
      if (!spec.months.has(t.getUTCMonth() + 1)) return false;
      const dom = spec.days.has(t.getUTCDate());
      const dow = spec.weekdays.has(t.getUTCDay());
      if (spec.dayRestricted && spec.weekdayRestricted) return dom || dow;
      return (spec.dayRestricted ? dom : true) && (spec.weekdayRestricted ? dow : true);
    })();
    if (dayOk) {
      for (let hour = t.getUTCHours(); hour < 24; hour++) {
        if (!spec.hours.has(hour)) continue;
        const fromMinute = hour === t.getUTCHours() ? t.getUTCMinutes() : 0;
        for (let minute = fromMinute; minute < 60; minute++) {
          if (spec.minutes.has(minute)) {
            return Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), hour, minute);
          }
        }
      }
    }
    t.setTime(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + 1));
  }
  return null;
}
