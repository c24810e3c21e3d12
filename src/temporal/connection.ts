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

export async function connectClient(flags: ConnectionFlags): Promise<{ client: Client; connection: Connection; namespace: string }> {
  const { options, namespace } = resolveConnection(flags);
  const { address, tls, apiKey, metadata } = options;
  const connection = await Connection.connect({ address, tls, apiKey: typeof apiKey === 'string' ? apiKey : undefined, metadata, connectTimeout: flags.connectTimeoutMs ?? 10_000 });
  return { client: new Client({ connection, namespace }), connection, namespace };
}

export async function connectWorker(flags: ConnectionFlags): Promise<{ connection: NativeConnection; namespace: string }> {
  const { options, namespace } = resolveConnection(flags);
  // Loaded here only: the worker package takes half a second to load, and only `worker` and `dev` need it.
  const { NativeConnection: Native } = await import('@temporalio/worker');
  return { connection: await Native.connect(options), namespace };
}
