// The negative control of test/replay: workflows/patches.ts with every patch taken unconditionally,
// as if the change had been made without patched(). Swapped in by the replay test's bundle only.
import { Patch } from '../../workflows/patches.js';

export { Patch };

export function isPatched(_id: (typeof Patch)[keyof typeof Patch]): boolean {
  return true;
}
