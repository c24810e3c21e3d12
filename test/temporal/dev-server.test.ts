import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/lab/sftp-server.js';

/** A stand-in `temporal` that dies the way start-dev does when a port it picked itself was taken. */
function fakeCli(busyPort: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fake-temporal-'));
  const path = join(dir, 'temporal');
  writeFileSync(path, `#!/bin/sh\necho "failed listening for HTTP API on 127.0.0.1:${busyPort}: listen tcp 127.0.0.1:${busyPort}: bind: address already in use" >&2\nexit 1\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('starting the dev server', () => {
  it('tries again (three times in all) when a port the CLI picked itself was taken meanwhile', async () => {
    const logs: string[] = [];
    const port = await freePort();
    const err = await startDevServer({ cliPath: fakeCli('45703'), dataDir: mkdtempSync(join(tmpdir(), 'dd-')), port, headless: true, onLog: (l) => logs.push(l) }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/address already in use/);
    expect(logs.filter((l) => l.includes('starting it again'))).toHaveLength(2);
  });

  it('does not retry when the busy port is the one the operator asked for', async () => {
    const logs: string[] = [];
    const port = await freePort();
    const err = await startDevServer({ cliPath: fakeCli(String(port)), dataDir: mkdtempSync(join(tmpdir(), 'dd-')), port, headless: true, onLog: (l) => logs.push(l) }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/address already in use/);
    expect(logs.filter((l) => l.includes('starting it again'))).toHaveLength(0);
  });
});
