/** Exit codes every command uses. */
export const EXIT = { OK: 0, RUN_FAILED: 1, BAD_INPUT: 2 } as const;

/** An error that ends the command with a message and an exit code, never a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export const isTty = () => process.stderr.isTTY === true;

/** Human progress goes to stderr so that stdout stays clean for --json. */
export function info(line: string): void {
  process.stderr.write(line + '\n');
}

/** What -o chose for machine-readable output (--json is -o json). */
let toYaml: ((v: unknown) => string) | undefined;
/** -o yaml: the YAML writer is loaded here, only when asked for. */
export async function setMachineFormat(f: 'json' | 'yaml'): Promise<void> {
  toYaml = f === 'yaml' ? (await import('yaml')).stringify : undefined;
}

export function printJson(value: unknown): void {
  // Through JSON first, so that YAML shows exactly what JSON would (dates as strings, no undefined).
  const plain = JSON.parse(JSON.stringify(value ?? null));
  process.stdout.write(toYaml ? toYaml(plain) : JSON.stringify(plain, null, 2) + '\n');
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Columns padded to their widest cell, two spaces apart (the first row is the header). */
export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
