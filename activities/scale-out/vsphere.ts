import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { VcenterConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { VsphereClient } from '../../src/providers/vsphere/client.js';
import { HostConnectFaultError, InvalidLoginError, ManagedObjectNotFoundError, SslVerifyFaultError, VsphereFault } from '../../src/providers/vsphere/errors.js';
import { text } from '../../src/providers/vsphere/xml.js';
import type { AdmissionControlPolicySpec, MoRef } from '../../src/providers/vsphere/types.js';
import type { AdmissionPolicy, HaSettings } from '../../src/domain/ha-admission.js';
import { classify, nonRetryable } from '../failures.js';
import { tlsOf } from '../../src/providers/tls.js';

/** What the activity heartbeats while a vCenter task runs: the task, so that a retry can find it. */
interface TaskBeat {
  task: string;
  method: string;
}

/** The activity's context, or none (a call from outside a worker). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * One vCenter SOAP session for the activity; secrets resolved here. The task in flight is
 * heartbeated; a retry first waits for the task its previous attempt left running (a killed worker's
 * task goes on in vCenter), so that it never acts on top of it.
 */
export async function withVsphere<T>(v: VcenterConfig, fn: (c: VsphereClient) => Promise<T>): Promise<T> {
  const ctx = activityContext();
  const c = new VsphereClient(
    { url: v.url, user: v.user, password: await resolveSecret(v.password), ...tlsOf(v) },
    { onTask: (task, method) => ctx?.heartbeat({ task: task.value, method } satisfies TaskBeat) },
  );
  try {
    await c.login();
    const left = ctx?.info.heartbeatDetails as Partial<TaskBeat> | undefined;
    if (left?.task && left.method) await settleTask(c, { type: 'Task', value: left.task }, left.method);
    return await fn(c);
  } catch (err) {
    throw classifyVsphere(err);
  } finally {
    await c.logout();
  }
}

/** Waits for a task to end, however it ends (the caller looks, then acts): a fault of the task's own is no error here. */
export async function settleTask(c: VsphereClient, task: MoRef, method: string): Promise<void> {
  try {
    await c.waitTask(task, method);
  } catch (err) {
    if (err instanceof VsphereFault) return; // it failed, or vCenter has forgotten it
    throw err;
  }
}

/** vCenter faults no retry fixes become non-retryable failures that say what to do. */
export function classifyVsphere(err: unknown): Error {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof InvalidLoginError) return nonRetryable('AuthenticationFailed', err.message);
  if (err instanceof SslVerifyFaultError) return nonRetryable('HostThumbprintMismatch', err.message, { host: err.host, thumbprint: err.thumbprint });
  if (err instanceof HostConnectFaultError) return nonRetryable('HostConnectFailed', err.message);
  if (err instanceof ManagedObjectNotFoundError) return nonRetryable('NotFound', err.message);
  if (err instanceof VsphereFault && ['DuplicateName', 'InvalidArgument', 'InvalidState', 'AlreadyExists'].includes(err.faultType)) return nonRetryable('BadRequest', err.message);
  return classify(err);
}

export interface ClusterView {
  name: string;
  ref: MoRef;
  hosts: string[];
  ha: HaSettings;
}
export interface HostView {
  name: string;
  ref: MoRef;
  /** The cluster it belongs to, by name (undefined: standalone or elsewhere). */
  cluster?: string;
  connectionState: string;
  inMaintenanceMode: boolean;
}
export interface Inventory {
  clusters: ClusterView[];
  hosts: HostView[];
}

const refsOf = (v: unknown): MoRef[] =>
  ((v as { ManagedObjectReference?: { '@_type': string; '#text': string }[] } | undefined)?.ManagedObjectReference ?? []).map((r) => ({ type: r['@_type'], value: r['#text'] }));

function num(v: unknown): number | undefined {
  const t = text(v);
  return t === undefined ? undefined : Number(t);
}
const bool = (v: unknown) => text(v) === 'true';

/** dasConfig as read through the property collector, in the domain's terms. */
export function haOf(das: Record<string, unknown> | undefined): HaSettings {
  const p = das?.admissionControlPolicy as Record<string, unknown> | undefined;
  let policy: AdmissionPolicy = { kind: 'none' };
  switch (p?.['@_type']) {
    case 'ClusterFailoverResourcesAdmissionControlPolicy':
      policy = { kind: 'resources', cpuPercent: num(p.cpuFailoverResourcesPercent) ?? 0, memoryPercent: num(p.memoryFailoverResourcesPercent) ?? 0, failoverLevel: num(p.failoverLevel), autoCompute: bool(p.autoComputePercentages) };
      break;
    case 'ClusterFailoverLevelAdmissionControlPolicy':
      policy = { kind: 'slots', failoverLevel: num(p.failoverLevel) ?? 1 };
      break;
    case 'ClusterFailoverHostAdmissionControlPolicy':
      policy = { kind: 'failover-hosts', failoverHosts: refsOf(p.failoverHosts).map((r) => r.value) };
      break;
  }
  return { enabled: bool(das?.enabled), admissionControlEnabled: bool(das?.admissionControlEnabled), failoverLevel: num(das?.failoverLevel) ?? 0, policy };
}

/** The domain's HA settings as a dasConfig spec (failover hosts by reference: they are kept as they are). */
export function dasSpecOf(ha: HaSettings, failoverHostRefs: MoRef[] = []): { enabled: boolean; failoverLevel?: number; admissionControlPolicy?: AdmissionControlPolicySpec; admissionControlEnabled: boolean } {
  const p = ha.policy;
  const policy: AdmissionControlPolicySpec | undefined =
    p.kind === 'resources'
      ? { type: 'ClusterFailoverResourcesAdmissionControlPolicy', cpuFailoverResourcesPercent: p.cpuPercent, memoryFailoverResourcesPercent: p.memoryPercent, failoverLevel: p.failoverLevel, autoComputePercentages: p.autoCompute }
      : p.kind === 'slots'
        ? { type: 'ClusterFailoverLevelAdmissionControlPolicy', failoverLevel: p.failoverLevel }
        : p.kind === 'failover-hosts'
          ? { type: 'ClusterFailoverHostAdmissionControlPolicy', failoverHosts: failoverHostRefs }
          : undefined;
  return { enabled: ha.enabled, failoverLevel: ha.failoverLevel || undefined, admissionControlPolicy: policy, admissionControlEnabled: ha.admissionControlEnabled };
}

/** Clusters (with hosts and HA settings) and hosts, read in two property-collector calls. */
export async function readInventory(c: VsphereClient): Promise<Inventory> {
  const [clusters, hosts] = await Promise.all([
    c.retrieve([{ type: 'ClusterComputeResource', paths: ['name', 'host', 'configurationEx'] }]),
    c.retrieve([{ type: 'HostSystem', paths: ['name', 'runtime.connectionState', 'runtime.inMaintenanceMode'] }]),
  ]);
  const hostName = new Map(hosts.map((h) => [h.ref.value, text(h.props.name) ?? h.ref.value]));
  // Membership from the clusters' own host lists (a host's `parent` is its cluster on vCenter, not always in the simulator).
  const clusterOf = new Map(clusters.flatMap((cl) => refsOf(cl.props.host).map((r) => [r.value, text(cl.props.name) ?? cl.ref.value] as const)));
  return {
    clusters: clusters
      .map((cl) => ({
        name: text(cl.props.name) ?? cl.ref.value,
        ref: cl.ref,
        hosts: refsOf(cl.props.host).map((r) => hostName.get(r.value) ?? r.value).sort(),
        ha: haOf((cl.props.configurationEx as Record<string, unknown> | undefined)?.dasConfig as Record<string, unknown> | undefined),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    hosts: hosts
      .map((h) => ({
        name: text(h.props.name) ?? h.ref.value,
        ref: h.ref,
        cluster: clusterOf.get(h.ref.value),
        connectionState: text(h.props['runtime.connectionState']) ?? 'unknown',
        inMaintenanceMode: bool(h.props['runtime.inMaintenanceMode']),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
