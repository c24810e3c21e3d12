import { loadClientConnectConfig } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';

export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  profile?: string;
  /** From the config file's temporal section; flags win, then the config file, then envconfig. */
  configAddress?: string;
  configNamespace?: string;
  /** How long to wait for the server (default 10 s); a command that can do without Temporal asks briefly. */
  connectTimeoutMs?: number;
}

/**
 * Resolves where Temporal is: --address/--namespace flags; then the config file; then
 * @temporalio/envconfig (TEMPORAL_* variables and temporal.toml profiles, with TLS, mTLS and API
 * keys); else localhost:7233 / default.
 */
export function resolveConnection(flags: ConnectionFlags): { options: NativeConnectionOptions; namespace: string } {
  const profile = loadClientConnectConfig({ profile: flags.profile ?? process.env.TEMPORAL_PROFILE });
  const options: NativeConnectionOptions = { ...profile.connectionOptions };
  const address = flags.address ?? flags.configAddress ?? options.address ?? '127.0.0.1:7233';
  options.address = address;
  const namespace = flags.namespace ?? flags.configNamespace ?? profile.namespace ?? 'default';
  return { options, namespace };
}

/** Where a connection goes, for messages: the address and namespace as resolved. */
export class TemporalUnreachable extends Error {
  override readonly name = 'TemporalUnreachable';
  constructor(readonly address: string, readonly namespace: string, cause: Error) {
    super(`cannot reach Temporal at ${address} (namespace ${namespace}): ${cause.message.split('\n')[0]}`);
  }
}

export async function connectClient(flags: ConnectionFlags): Promise<{ client: Client; connection: Connection; namespace: string; address: string }> {
  const { options, namespace } = resolveConnection(flags);
  const { address, tls, apiKey, metadata } = options;
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, tls, apiKey: typeof apiKey === 'string' ? apiKey : undefined, metadata, connectTimeout: flags.connectTimeoutMs ?? 10_000 });
  } catch (err) {
    throw new TemporalUnreachable(address!, namespace, err as Error);
  }
  return { client: new Client({ connection, namespace }), connection, namespace, address: address! };
}

/**
 * The workers that polled a task queue for workflow tasks lately (a worker long-polls about once a
 * minute, so one seen within two minutes is there). DescribeTaskQueue.
 */
export async function recentPollers(client: Client, namespace: string, taskQueue: string): Promise<string[]> {
  const r = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ }, taskQueueType: 1 /* WORKFLOW */ });
  const since = Date.now() - 120_000;
  return (r.pollers ?? [])
    .filter((p) => {
      const t = p.lastAccessTime;
      const ms = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
      return ms >= since;
    })
    .map((p) => p.identity ?? '(unnamed worker)');
}

export async function connectWorker(flags: ConnectionFlags): Promise<{ connection: NativeConnection; namespace: string }> {
  const { options, namespace } = resolveConnection(flags);
  // Loaded here only: the worker package takes half a second to load, and only `worker` and `dev` need it.
  const { NativeConnection: Native } = await import('@temporalio/worker');
  return { connection: await Native.connect(options), namespace };
}
