import { send } from '../http.js';
import { tlsOf, type EndpointTls } from '../tls.js';
import { faultError, NotAuthenticatedError, VsphereFault } from './errors.js';
import { clusterConfigSpecEx, envelope, hostConnectSpec, moRef, parseEnvelope, propertyFilterSpec, text, toMoRef, type Traversal } from './xml.js';
import type { ClusterConfigSpecEx, HostConnectSpec, MoRef, TaskInfo } from './types.js';

export interface VsphereEndpoint extends EndpointTls {
  /** The vCenter's base URL (the SOAP endpoint is <url>/sdk). */
  url: string;
  user: string;
  password: string;
}

/** The vim25 release sent in SOAPAction; vCenter 6.7 and later answer it. */
const VIM_VERSION = '8.0.3.0';
const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

export interface VsphereClientOptions {
  /** Told of the task in flight, when it starts and at every poll: an activity heartbeats it, so a retry can find it. */
  onTask?: (task: MoRef, method: string) => void;
  /** How often a task's state is read. */
  taskPollMs?: number;
}

export interface ObjectContent {
  ref: MoRef;
  props: Record<string, unknown>;
}

/** Walks the inventory from the root folder down to clusters and their hosts. */
const INVENTORY: Traversal[] = [
  { name: 'folderChildren', type: 'Folder', path: 'childEntity', next: ['folderChildren', 'datacenterHosts', 'computeHosts'] },
  { name: 'datacenterHosts', type: 'Datacenter', path: 'hostFolder', next: ['folderChildren'] },
  { name: 'computeHosts', type: 'ComputeResource', path: 'host', next: [] },
];

/**
 * Client of vCenter's vSphere Web Services (SOAP, vim25): the API govc, pyVmomi and PowerCLI use,
 * and the only one with cluster creation and HA admission control on every version we support.
 * The session is the vmware_soap_session cookie; a call refused NotAuthenticated logs in again once.
 */
export class VsphereClient {
  private cookie?: string;
  private content?: { rootFolder: MoRef; propertyCollector: MoRef; sessionManager: MoRef };
  constructor(
    private readonly ep: VsphereEndpoint,
    private readonly opts: VsphereClientOptions = {},
  ) {}

  private get sdkUrl(): string {
    return `${this.ep.url.replace(/\/+$/, '')}/sdk`;
  }

  private async post(method: string, self: MoRef, args: [string, unknown][], context: Parameters<typeof faultError>[3]): Promise<Record<string, unknown>> {
    const res = await send({
      method: 'POST',
      url: this.sdkUrl,
      body: envelope(method, self, args),
      ...tlsOf(this.ep),
      product: 'vCenter (SOAP)',
      headers: { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml', soapaction: `"urn:vim25/${VIM_VERSION}"`, ...(this.cookie ? { cookie: this.cookie } : {}) },
    });
    const set = res.headers['set-cookie'];
    const cookie = (Array.isArray(set) ? set : set ? [set] : []).find((c) => c.startsWith('vmware_soap_session='));
    if (cookie) this.cookie = cookie.split(';')[0];
    if (res.status >= 400 && !res.text.includes('Envelope')) throw new VsphereFault('HttpError', `vCenter SOAP endpoint answered ${res.status} to ${method}: ${res.text.slice(0, 300)}`);
    const parsed = parseEnvelope(method, res.text);
    if (parsed.fault) throw faultError(parsed.fault.type, parsed.fault.message, parsed.fault.detail, context);
    return parsed.response!;
  }

  /** One call; a session that expired is logged in again, once. */
  async call(method: string, self: MoRef, args: [string, unknown][] = [], context: Parameters<typeof faultError>[3] = {}): Promise<Record<string, unknown>> {
    try {
      return await this.post(method, self, args, context);
    } catch (err) {
      if (!(err instanceof NotAuthenticatedError) || method === 'Login') throw err;
      await this.login();
      return this.post(method, self, args, context);
    }
  }

  async login(): Promise<void> {
    const sc = (await this.post('RetrieveServiceContent', SERVICE_INSTANCE, [], {})).returnval as Record<string, unknown>;
    this.content = { rootFolder: toMoRef(sc.rootFolder), propertyCollector: toMoRef(sc.propertyCollector), sessionManager: toMoRef(sc.sessionManager) };
    await this.post('Login', this.content.sessionManager, [['userName', this.ep.user], ['password', this.ep.password]], {});
  }

  async logout(): Promise<void> {
    if (!this.content || !this.cookie) return;
    await this.post('Logout', this.content.sessionManager, [], {}).catch(() => undefined);
    this.cookie = undefined;
  }

  private async sc() {
    if (!this.content) await this.login();
    return this.content!;
  }

  /**
   * RetrievePropertiesEx, then ContinueRetrievePropertiesEx until the token runs out. Without `from`:
   * the inventory from the root folder; with `from` alone: that object; with both: what the
   * traversals reach from it.
   */
  async retrieve(types: { type: string; paths: string[] }[], from?: MoRef, traversals?: Traversal[]): Promise<ObjectContent[]> {
    const sc = await this.sc();
    const spec = propertyFilterSpec({ types, from: from ?? sc.rootFolder, skip: !from || !!traversals, traversals: traversals ?? (from ? [] : INVENTORY) });
    const out: ObjectContent[] = [];
    let r = (await this.call('RetrievePropertiesEx', sc.propertyCollector, [['specSet', spec], ['options', {}]])).returnval as Record<string, unknown> | undefined;
    for (;;) {
      for (const o of (r?.objects as Record<string, unknown>[] | undefined) ?? []) {
        out.push({ ref: toMoRef(o.obj), props: Object.fromEntries(((o.propSet as Record<string, unknown>[]) ?? []).map((p) => [String(p.name), p.val])) });
      }
      const token = text(r?.token);
      if (!token) return out;
      r = (await this.call('ContinueRetrievePropertiesEx', sc.propertyCollector, [['token', token]])).returnval as Record<string, unknown> | undefined;
    }
  }

  /** Properties of one object. */
  async properties(ref: MoRef, paths: string[]): Promise<Record<string, unknown>> {
    const [o] = await this.retrieve([{ type: ref.type, paths }], ref);
    return o?.props ?? {};
  }

  async createCluster(folder: MoRef, name: string, spec: ClusterConfigSpecEx): Promise<MoRef> {
    const r = await this.call('CreateClusterEx', folder, [['name', name], ['spec', clusterConfigSpecEx(spec)]], { name });
    return toMoRef(r.returnval);
  }

  addHost(cluster: MoRef, spec: HostConnectSpec, asConnected = true): Promise<TaskInfo> {
    return this.runTask('AddHost_Task', cluster, [['spec', hostConnectSpec(spec)], ['asConnected', asConnected]], { host: spec.hostName });
  }

  enterMaintenanceMode(host: MoRef, timeoutSeconds = 0): Promise<TaskInfo> {
    return this.runTask('EnterMaintenanceMode_Task', host, [['timeout', timeoutSeconds], ['evacuatePoweredOffVms', false]], { obj: host.value });
  }

  disconnectHost(host: MoRef): Promise<TaskInfo> {
    return this.runTask('DisconnectHost_Task', host, [], { obj: host.value });
  }

  destroy(ref: MoRef): Promise<TaskInfo> {
    return this.runTask('Destroy_Task', ref, [], { obj: ref.value });
  }

  reconfigureCluster(cluster: MoRef, spec: ClusterConfigSpecEx): Promise<TaskInfo> {
    return this.runTask('ReconfigureComputeResource_Task', cluster, [['spec', clusterConfigSpecEx(spec)], ['modify', true]], { obj: cluster.value });
  }

  /** The entity's recent tasks that are still queued or running, of one kind (a TaskInfo.descriptionId such as `ClusterComputeResource.addHost`). */
  async runningTasks(entity: MoRef, descriptionId: string): Promise<MoRef[]> {
    const tasks = await this.retrieve([{ type: 'Task', paths: ['info.state', 'info.descriptionId'] }], entity, [{ name: 'recentTasks', type: 'ManagedEntity', path: 'recentTask', next: [] }]);
    return tasks.filter((t) => text(t.props['info.descriptionId']) === descriptionId && ['queued', 'running'].includes(text(t.props['info.state']) ?? '')).map((t) => t.ref);
  }

  /** Starts a *_Task method and waits for its task; a task that ends in error throws its fault. */
  async runTask(method: string, self: MoRef, args: [string, unknown][], context: Parameters<typeof faultError>[3], o: { timeoutMs?: number } = {}): Promise<TaskInfo> {
    const task = toMoRef((await this.call(method, self, args, context)).returnval);
    return this.waitTask(task, method, context, o);
  }

  /** Polls a task to its end (telling `onTask` each time); one that ends in error throws its fault. */
  async waitTask(task: MoRef, method: string, context: Parameters<typeof faultError>[3] = {}, o: { timeoutMs?: number } = {}): Promise<TaskInfo> {
    const deadline = Date.now() + (o.timeoutMs ?? 30 * 60_000);
    for (;;) {
      this.opts.onTask?.(task, method);
      const props = await this.properties(task, ['info.state', 'info.error', 'info.result']);
      const state = text(props['info.state']) as TaskInfo['state'];
      if (state === 'success') return { state, result: props['info.result'] };
      if (state === 'error') {
        const e = props['info.error'] as Record<string, unknown> | undefined;
        const fault = (e?.fault ?? {}) as Record<string, unknown>;
        throw faultError(String(fault['@_type'] ?? 'SystemError'), text(e?.localizedMessage) ?? '', fault, context);
      }
      if (Date.now() > deadline) throw new VsphereFault('TaskTimedOut', `vCenter task ${task.value} (${method}) did not finish in time`);
      await new Promise((r) => setTimeout(r, this.opts.taskPollMs ?? 500));
    }
  }
}

export { moRef };
