import cron from 'node-cron';

const FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];

/** Checks a five-field cron expression locally; returns what is wrong, naming the field, or undefined. */
export function cronProblem(expr: string): string | undefined {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) {
    return `"${expr}" has ${parts.length} field(s); write five: ${FIELDS.join(' ')} (e.g. "0 2 * * *" for 02:00 every day)`;
  }
  const r = cron.validateDetailed(expr) as { valid: boolean; errors: { field: string; value: string; message: string }[] };
  if (r.valid) return undefined;
  return r.errors
    .map((e) => {
      const name = { minute: 'minute', hour: 'hour', dayOfMonth: 'day-of-month', month: 'month', dayOfWeek: 'day-of-week' }[e.field] ?? e.field;
      return `the ${name} field "${e.value}" is not valid in "${expr}"`;
    })
    .join('; ');
}

/** An IANA time zone name the runtime knows (Temporal uses the same tz database names). */
export function timezoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return undefined;
  } catch {
    return `"${tz}" is not an IANA time zone name (e.g. UTC, Asia/Tokyo, Europe/Berlin)`;
  }
}
