import { loadClientConnectConfig } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import { clientDataConverter, payloadCodecFor, type EncryptionSetting } from './data-converter.js';

export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  profile?: string;
  /** From the config file's temporal section; flags win, then the config file, then envconfig. */
  configAddress?: string;
  configNamespace?: string;
  /** How long to wait for the server (default 10 s); a command that can do without Temporal asks briefly. */
  connectTimeoutMs?: number;
  /** The config file's temporal.encryption (unset: decrypts nothing, refuses to encrypt, saying what to set). */
  encryption?: EncryptionSetting;
}

/**
 * Resolves where Temporal is: --address/--namespace flags; then the config file; then
 * @temporalio/envconfig (TEMPORAL_* variables and temporal.toml profiles, with TLS, mTLS and API
 * keys); else localhost:7233 / default.
 */
export function resolveConnection(flags: ConnectionFlags): { options: NativeConnectionOptions; namespace: string; profile?: string } {
  // An exported but empty variable (TEMPORAL_ADDRESS=) means unset, not "the empty address".
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !!e[1]));
  const profileName = flags.profile ?? env.TEMPORAL_PROFILE;
  const profile = loadClientConnectConfig({ profile: profileName, overrideEnvVars: env });
  const options: NativeConnectionOptions = { ...profile.connectionOptions };
  const address = flags.address ?? flags.configAddress ?? options.address ?? '127.0.0.1:7233';
  options.address = address;
  const namespace = flags.namespace ?? flags.configNamespace ?? profile.namespace ?? 'default';
  return { options, namespace, profile: profileName };
}

/** Where a connection goes, for messages: the address and namespace as resolved. */
export class TemporalUnreachable extends Error {
  override readonly name = 'TemporalUnreachable';
  constructor(readonly address: string, readonly namespace: string, cause: Error, readonly profile?: string, readonly tlsReason?: string) {
    super(`cannot reach Temporal at ${address} (namespace ${namespace}${profile ? `, profile ${profile}` : ''}): ${tlsReason ?? cause.message.split('\n')[0]}`);
  }
}

/** The error for a failed connection, with the TLS reason when a handshake of our own finds one. */
async function unreachable(options: NativeConnectionOptions, namespace: string, profile: string | undefined, err: Error): Promise<TemporalUnreachable> {
  const { diagnoseTls } = await import('./tls-probe.js');
  const reason = await diagnoseTls(options.address!, options.tls ?? (options.apiKey ? true : undefined)).catch(() => undefined);
  return new TemporalUnreachable(options.address!, namespace, err, profile, reason);
}

export async function connectClient(flags: ConnectionFlags): Promise<{ client: Client; connection: Connection; namespace: string; address: string }> {
  const { options, namespace, profile } = resolveConnection(flags);
  const { address, tls, apiKey, metadata } = options;
  const codec = await payloadCodecFor(flags.encryption);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, tls, apiKey: typeof apiKey === 'string' ? apiKey : undefined, metadata, connectTimeout: flags.connectTimeoutMs ?? 10_000 });
  } catch (err) {
    throw await unreachable(options, namespace, profile, err as Error);
  }
  return { client: new Client({ connection, namespace, dataConverter: clientDataConverter(codec) }), connection, namespace, address: address! };
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
  const { options, namespace, profile } = resolveConnection(flags);
  // Loaded here only: the worker package takes half a second to load, and only `worker` and `dev` need it.
  const { NativeConnection: Native } = await import('@temporalio/worker');
  try {
    return { connection: await Native.connect(options), namespace };
  } catch (err) {
    throw await unreachable(options, namespace, profile, err as Error);
  }
}
