import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';

/**
 * One product endpoint (an NSX Manager, a vCenter appliance) runs one backup at a time, whichever
 * way a run started and whichever site it serves. Each endpoint has a lock workflow, reached with
 * signal-with-start (Temporal's mutex sample): requests queue in arrival order, the holder is told
 * by signal, and releases by signal — or loses the lock when its lease ends or its run has ended.
 */
export interface LockRequest {
  /** The requesting run, which is signalled when it gets the lock (or, for `ifFree`, that it did not). */
  workflowId: string;
  runId: string;
  /** What an operator reads when this run holds the lock. */
  label: string;
  /** Epoch ms after which the request, or the hold, lapses (the requester's own deadline). */
  until: number;
  /** Refuse instead of queueing when another run holds the lock. */
  ifFree?: boolean;
}

export interface LockReply {
  resource: string;
  granted: boolean;
  /** Who holds it, when not granted. */
  holder?: string;
}

export interface LockState {
  resource: string;
  holder?: LockRequest;
  queue: LockRequest[];
}

export const acquireSignal = defineSignal<[LockRequest]>('acquire');
export const releaseSignal = defineSignal<[{ workflowId: string; runId: string }]>('release');
export const lockReplySignal = defineSignal<[LockReply]>('lockReply');
export const lockStateQuery = defineQuery<LockState>('lockState');

/**
 * A workflow id is stored and indexed in clear even when payloads are encrypted, so the lock's id
 * carries the endpoint's kind and a digest of its host and port, never the host itself ("nsx-3f2a…").
 */
export const lockWorkflowId = (resource: string) => `sddc-ops-lock-${resource.split('-')[0]}-${digest64(resource)}`;

/** FNV-1a and a second multiplicative lane (different offset and odd multiplier): deterministic (workflow code has no crypto), 64 bits against collisions. */
function digest64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

const { runHasEnded } = proxyActivities<typeof activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});

/** How often the lock asks whether its holder's run still runs (a terminated run never releases). */
const HOLDER_CHECK_MS = 15_000;
/** A lock nobody asked for this long ends; the next request starts it again. */
const IDLE_MS = 60 * 60_000;
const GRANTS_BEFORE_CONTINUE = 100;

export async function endpointLock({ resource, queue: carried = [] }: { resource: string; queue?: LockRequest[] }): Promise<void> {
  const queue: LockRequest[] = [...carried];
  let holder: LockRequest | undefined;
  const same = (a: { workflowId: string; runId: string }, b: { workflowId: string; runId: string }) => a.workflowId === b.workflowId && a.runId === b.runId;
  const reply = async (to: LockRequest, r: Omit<LockReply, 'resource'>): Promise<boolean> => {
    try {
      await getExternalWorkflowHandle(to.workflowId, to.runId).signal(lockReplySignal, { resource, ...r });
      return true;
    } catch {
      return false; // the requester is gone
    }
  };

  setHandler(acquireSignal, (r) => {
    if ((holder && same(holder, r)) || queue.some((q) => same(q, r))) return; // a retried request
    queue.push(r);
  });
  setHandler(releaseSignal, (r) => {
    if (holder && same(holder, r)) holder = undefined;
    const i = queue.findIndex((q) => same(q, r));
    if (i >= 0) queue.splice(i, 1);
  });
  setHandler(lockStateQuery, () => ({ resource, holder, queue }));

  for (let grants = 0; ; ) {
    if (!holder) {
      if (!(await condition(() => queue.length > 0, IDLE_MS))) return;
      const next = queue.shift()!;
      if (Date.now() > next.until) continue;
      holder = next;
      if (!(await reply(holder, { granted: true }))) {
        holder = undefined;
        continue;
      }
      grants++;
    }
    // Requests that may not wait are answered at once, naming the holder.
    for (const r of queue.filter((q) => q.ifFree)) {
      queue.splice(queue.indexOf(r), 1);
      await reply(r, { granted: false, holder: holder?.label });
    }
    const current = holder;
    if (!current) continue;
    const released = await condition(() => holder !== current || queue.some((q) => q.ifFree), Math.max(1, Math.min(current.until - Date.now(), HOLDER_CHECK_MS)));
    if (released || holder !== current) {
      if (!holder && grants >= GRANTS_BEFORE_CONTINUE && queue.length === 0) await continueAsNew<typeof endpointLock>({ resource, queue });
      continue;
    }
    if (Date.now() >= current.until || (await runHasEnded({ workflowId: current.workflowId, runId: current.runId }).catch(() => false))) {
      holder = undefined;
    }
    if (workflowInfo().continueAsNewSuggested && !holder) await continueAsNew<typeof endpointLock>({ resource, queue });
  }
}
