/** vim25 shapes sddc-ops sends and reads. Field order in each interface is the XSD sequence order. */
export interface MoRef {
  type: string;
  value: string;
}

export interface HostConnectSpec {
  hostName: string;
  port?: number;
  /** SHA-1, colon-separated upper-case hex, as vCenter shows it. */
  sslThumbprint?: string;
  userName: string;
  password: string;
  force?: boolean;
}

export type AdmissionControlPolicySpec =
  | { type: 'ClusterFailoverResourcesAdmissionControlPolicy'; cpuFailoverResourcesPercent: number; memoryFailoverResourcesPercent: number; failoverLevel?: number; autoComputePercentages?: boolean }
  | { type: 'ClusterFailoverLevelAdmissionControlPolicy'; failoverLevel: number }
  | { type: 'ClusterFailoverHostAdmissionControlPolicy'; failoverHosts: MoRef[] };

export interface DasConfigSpec {
  enabled?: boolean;
  failoverLevel?: number;
  admissionControlPolicy?: AdmissionControlPolicySpec;
  admissionControlEnabled?: boolean;
}

export interface DrsConfigSpec {
  enabled?: boolean;
  defaultVmBehavior?: 'manual' | 'partiallyAutomated' | 'fullyAutomated';
}

export interface ClusterConfigSpecEx {
  dasConfig?: DasConfigSpec;
  drsConfig?: DrsConfigSpec;
}

export type TaskState = 'queued' | 'running' | 'success' | 'error';

export interface TaskInfo {
  state: TaskState;
  /** The fault's type and message when state is error. */
  error?: { type: string; message: string; detail: Record<string, unknown> };
  result?: unknown;
}
