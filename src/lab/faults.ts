import { z } from 'zod';

/** Faults a simulator injects, set through its control endpoint `PUT /lab/faults`. */
export const faultsSchema = z.strictObject({
  /** The next N API calls answer 503. */
  http5xx: z.number().int().min(0).optional(),
  /** Every API call answers 503 for this long from now (an outage; the job itself keeps running). */
  outageMs: z.number().int().min(0).optional(),
  /** The next N API calls answer 429 with this Retry-After (seconds). */
  rateLimit: z.strictObject({ count: z.number().int().min(1), retryAfterSeconds: z.number().int().min(0) }).optional(),
  /** Every API call answers 401 until cleared. */
  unauthorized: z.boolean().optional(),
  /** Every session open now is forgotten at the next call (idle timeout, service restart): clients must log in again. */
  expireSessions: z.boolean().optional(),
  /** The product takes this long to answer a request that starts a backup (the job starts all the same). */
  startDelayMs: z.number().int().min(0).optional(),
  /** How long a backup job takes. */
  jobDurationMs: z.number().int().min(0).optional(),
  /** The next backup job ends FAILED with this message (the product's own words). */
  failJob: z.strictObject({ message: z.string(), code: z.string().optional() }).optional(),
  /**
   * The next backup uploads a damaged file yet reports success (`truncate`, `corrupt`); or its SFTP
   * connection drops half-way through a file (`disconnect`): the job ends FAILED in the product's
   * words and the part written stays on the target.
   */
  upload: z.enum(['ok', 'truncate', 'corrupt', 'disconnect']).optional(),
  /**
   * The next backup finds the target full: a write half-way through a file is answered with the
   * SFTP server's SSH_FX_FAILURE ("Failure": SFTP v3 has no out-of-space code, so OpenSSH's
   * sftp-server answers ENOSPC so), the job ends FAILED in the product's words, the part written stays.
   */
  targetFull: z.boolean().optional(),
  /** NSX-T: the next restore stops SUSPENDED (NSX's state for a restore step that failed) with this description, instead of pausing for the operator. */
  restoreSuspended: z.strictObject({ description: z.string() }).optional(),
  /** The product sees a host key other than the one pinned, and refuses as the product does. */
  badFingerprint: z.boolean().optional(),
  /** NSX-T: the fingerprint retrieve_ssh_fingerprint reports (NSX reaches another server at that address: DNS, NAT). */
  fingerprintSeenByNsx: z.string().optional(),
  /** NSX-T: what GET /api/v1/cluster/status reports as overall_status (default STABLE). */
  clusterStatus: z.enum(['STABLE', 'DEGRADED', 'UNSTABLE', 'UNAVAILABLE']).optional(),
  /** IKS: how long a new worker provisions, and a removed one takes to go. */
  workerMs: z.number().int().min(0).optional(),
  /** IKS: the next N workers that provision end `provision_failed`. */
  failWorkers: z.number().int().min(0).optional(),
  /** IKS: the next N workers that provision never become ready: they stay `provisioning` until removed. */
  stallWorkers: z.number().int().min(0).optional(),
  /** IKS: the next worker-pool change (resize, zone add or remove) is refused with this status and IBM error. */
  refusePoolChange: z.strictObject({ status: z.number().int().min(400).max(599), code: z.string(), description: z.string() }).optional(),
});
export type Faults = z.infer<typeof faultsSchema>;

export class FaultState {
  private f: Faults = {};
  private outageUntil = 0;
  get(): Faults {
    return { ...this.f };
  }
  set(next: Faults): void {
    this.f = { ...this.f, ...next };
    if (next.outageMs !== undefined) this.outageUntil = Date.now() + next.outageMs;
  }
  clear(): void {
    this.f = {};
    this.outageUntil = 0;
  }
  /** True when this call must fail with 503; counts the burst down. */
  takeServerError(): boolean {
    if (Date.now() < this.outageUntil) return true;
    if (!this.f.http5xx) return false;
    this.f.http5xx -= 1;
    return true;
  }
  /** Retry-After seconds when this call must answer 429; counts the burst down. */
  takeRateLimit(): number | undefined {
    const r = this.f.rateLimit;
    if (!r || r.count <= 0) return undefined;
    r.count -= 1;
    if (r.count === 0) delete this.f.rateLimit;
    return r.retryAfterSeconds;
  }
  /** True once after `expireSessions` was set. */
  takeExpireSessions(): boolean {
    if (!this.f.expireSessions) return false;
    delete this.f.expireSessions;
    return true;
  }
  /** One-shot faults are consumed by the job they affect. */
  takeJobFaults(): Pick<Faults, 'failJob' | 'upload' | 'badFingerprint' | 'targetFull' | 'restoreSuspended'> {
    const { failJob, upload, badFingerprint, targetFull, restoreSuspended } = this.f;
    delete this.f.failJob;
    delete this.f.upload;
    delete this.f.badFingerprint;
    delete this.f.targetFull;
    delete this.f.restoreSuspended;
    return { failJob, upload, badFingerprint, targetFull, restoreSuspended };
  }
}

/** Handles GET/PUT/DELETE /lab/faults; returns undefined for every other path. */
export function faultControl(state: FaultState, req: { method: string; path: string; body: unknown }) {
  if (req.path !== '/lab/faults') return undefined;
  if (req.method === 'GET') return { status: 200, body: state.get() };
  if (req.method === 'DELETE') {
    state.clear();
    return { status: 204 };
  }
  if (req.method === 'PUT' || req.method === 'POST') {
    const parsed = faultsSchema.safeParse(req.body);
    if (!parsed.success) return { status: 400, body: { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } };
    state.set(parsed.data);
    return { status: 200, body: state.get() };
  }
  return { status: 405 };
}
