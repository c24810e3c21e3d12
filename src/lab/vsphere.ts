import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ensureVcsim } from './vcsim-provision.js';

/** What the lab's SOAP peer takes through PUT /lab/faults (src/lab/vcsim/main.go). */
export interface VsphereFaults {
  /** The Nth call of this SOAP method from now fails: SystemError (a retry may pass) or InvalidState (no retry will). */
  failMethod?: { name: string; call: number; fault?: 'SystemError' | 'InvalidState' };
  /** Every *_Task call answers this much later (to catch a run mid-step). */
  taskDelayMs?: number;
  /** Every task reads `running` this long before it acts; the call returns at once (a slow vCenter task). */
  taskRunMs?: number;
  /** AddHost_Task for these host names fails with HostConnectFault. */
  hostConnectFault?: string[];
  /** AddHost_Task for these host names succeeds, but the host lands disconnected. */
  addDisconnected?: string[];
}

export interface LabVsphere {
  /** The simulator's own /sdk URL (the lab vCenter serves it under its URL too). */
  sdkUrl: string;
  setFaults(f: VsphereFaults): Promise<void>;
  clearFaults(): Promise<void>;
  /** The SSL thumbprint the lab gives a host name (stable per name). */
  thumbprint(host: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts the vSphere SOAP peer: govmomi's simulator (one datacenter DC0, `clusters` clusters of
 * `hosts` hosts each: DC0_C0, DC0_C0_H0 …) with the lab's additions, logins as `user`/`password`.
 */
export async function startVsphereSimulator(o: { user: string; password: string; clusters?: number; hosts?: number; binary?: string }): Promise<LabVsphere> {
  const bin = o.binary ?? (await ensureVcsim());
  const child = spawn(bin, ['-l', '127.0.0.1:0', '-username', o.user, '-password', o.password, '-cluster', String(o.clusters ?? 1), '-host', String(o.hosts ?? 3)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let stopping = false;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // A crash of the simulator is a lab bug: say so where the test or the operator sees it.
  void exited.then((code) => !stopping && process.stderr.write(`lab SOAP simulator exited (${code}):\n${stderr.slice(-3000)}\n`));
  const sdkUrl = await Promise.race([
    new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { url: string }).url))),
    exited.then((code): string => {
      throw new Error(`the lab SOAP simulator exited (${code}) before listening: ${stderr.trim()}`);
    }),
  ]);
  const base = sdkUrl.replace(/\/sdk$/, '');
  const control = async (method: string, body?: object) => {
    const res = await fetch(`${base}/lab/faults`, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    if (!res.ok) throw new Error(`lab SOAP simulator refused the faults: ${res.status} ${await res.text()}`);
  };
  return {
    sdkUrl,
    setFaults: (f) => control('PUT', f),
    clearFaults: () => control('DELETE'),
    thumbprint: async (host) => ((await (await fetch(`${base}/lab/thumbprint?host=${encodeURIComponent(host)}`)).json()) as { thumbprint: string }).thumbprint,
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
