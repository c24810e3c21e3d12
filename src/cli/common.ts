import { InvalidArgumentError, type Command } from 'commander';
import { hostPortProblem, webUrlProblem } from '../config/formats.js';

export interface ConnectionOpts {
  address?: string;
  namespace?: string;
  profile?: string;
  taskQueue?: string;
  uiUrl?: string;
}

/** A flag's value checked as commander parses it: a bad one is a usage error (exit 2) naming the flag, before anything runs. */
export const checkedBy = (problem: (v: string) => string | undefined) => (v: string): string => {
  const p = problem(v);
  if (p) throw new InvalidArgumentError(p);
  return v;
};

/** The flags every command that talks to Temporal takes; TEMPORAL_* variables and profiles also apply. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', 'Temporal frontend (default: config file, then TEMPORAL_ADDRESS / profile, then 127.0.0.1:7233)', checkedBy(hostPortProblem))
    .option('--namespace <ns>', 'Temporal namespace (default: config file, then TEMPORAL_NAMESPACE / profile, then "default")')
    .option('--profile <name>', 'temporal.toml profile (TLS, mTLS, API key); default $TEMPORAL_PROFILE or "default"')
    .option('--task-queue <name>', 'task queue the workers poll (default: config file, then "sddc-ops")')
    .option('--ui-url <url>', 'Temporal Web UI base URL, for links', checkedBy(webUrlProblem));
}
