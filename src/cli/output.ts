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

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
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
