/**
 * vSphere HA admission control, recomputed when a cluster grows or shrinks. Pure: the scale-out
 * workflows plan with it and the activities apply what it says.
 *
 * A percentage-based policy (`ClusterFailoverResourcesAdmissionControlPolicy`) reserves a share
 * of the cluster's CPU and memory for failover; a fixed share that fitted N hosts reserves too
 * much after hosts are added (capacity lost) and too little after hosts leave (HA cannot restart
 * everything). So it is recomputed as ceil(100 × failures ÷ hosts), unless vCenter computes the
 * percentages itself (`autoComputePercentages`). Slot-based and dedicated-failover-host policies
 * are not a share of the cluster: they are kept, and reported.
 */
export type AdmissionPolicy =
  | { kind: 'resources'; cpuPercent: number; memoryPercent: number; failoverLevel?: number; autoCompute: boolean }
  | { kind: 'slots'; failoverLevel: number }
  | { kind: 'failover-hosts'; failoverHosts: string[] }
  | { kind: 'none' };

export interface HaSettings {
  enabled: boolean;
  admissionControlEnabled: boolean;
  /** Host failures the cluster tolerates (dasConfig.failoverLevel). */
  failoverLevel: number;
  policy: AdmissionPolicy;
}

export interface HaPlan {
  before: HaSettings;
  after: HaSettings;
  change: 'recomputed' | 'unchanged';
  /** Why, in words for the plan and the report. */
  reason: string;
}

/** The share (percent) to reserve so that `failures` of `hosts` equal hosts can fail: ceil(100 × f ÷ h), at most 100. */
export function reservePercent(failures: number, hosts: number): number {
  if (!Number.isInteger(hosts) || hosts < 1) throw new RangeError(`a cluster has at least one host, not ${hosts}`);
  if (!Number.isInteger(failures) || failures < 0) throw new RangeError(`host failures to tolerate must be a whole number ≥ 0, not ${failures}`);
  return Math.min(100, Math.ceil((100 * failures) / hosts));
}

/** What the HA settings should be once the cluster has `hosts` hosts; `before` is the compensation, restored as it was. */
export function planHa(before: HaSettings, hosts: number): HaPlan {
  const unchanged = (reason: string): HaPlan => ({ before, after: before, change: 'unchanged', reason });
  if (!before.enabled) return unchanged('HA is off on this cluster');
  if (!before.admissionControlEnabled) return unchanged('admission control is off on this cluster');
  const p = before.policy;
  switch (p.kind) {
    case 'none':
      return unchanged('no admission-control policy is set');
    case 'slots':
      return unchanged(`slot policy (tolerate ${p.failoverLevel} host failure(s)) adapts to the hosts by itself: kept`);
    case 'failover-hosts':
      return unchanged(`dedicated failover hosts (${p.failoverHosts.join(', ') || 'none'}) kept: adding hosts does not change them`);
    case 'resources': {
      if (p.autoCompute) return unchanged('vCenter computes the percentages itself (autoComputePercentages): left to it');
      const failures = p.failoverLevel ?? before.failoverLevel;
      const pct = reservePercent(failures, hosts);
      if (pct === p.cpuPercent && pct === p.memoryPercent) return unchanged(`already ${pct}% for ${failures} failure(s) of ${hosts} hosts`);
      return {
        before,
        after: { ...before, policy: { ...p, cpuPercent: pct, memoryPercent: pct } },
        change: 'recomputed',
        reason: `CPU ${p.cpuPercent}% → ${pct}%, memory ${p.memoryPercent}% → ${pct}%: ${failures} host failure(s) of ${hosts} hosts`,
      };
    }
  }
}

/** The HA/DRS settings of a new cluster when the site's config says nothing (sites.<site>.scaleOut.newCluster). */
export const DEFAULT_NEW_CLUSTER = { haEnabled: true, hostFailuresToTolerate: 1, drsEnabled: true, drsBehavior: 'fullyAutomated' } as const;

/** The HA settings a new cluster of `hosts` hosts gets: a percentage reservation for its host failures. */
export function newClusterHa(nc: { haEnabled: boolean; hostFailuresToTolerate: number }, hosts: number): HaSettings {
  const pct = reservePercent(Math.min(nc.hostFailuresToTolerate, hosts), hosts);
  return {
    enabled: nc.haEnabled,
    admissionControlEnabled: nc.haEnabled,
    failoverLevel: nc.hostFailuresToTolerate,
    policy: { kind: 'resources', cpuPercent: pct, memoryPercent: pct, failoverLevel: nc.hostFailuresToTolerate, autoCompute: false },
  };
}
