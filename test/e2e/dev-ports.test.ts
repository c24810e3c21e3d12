import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../fixtures/stack.js';

const listenOn = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describe('sddc-ops dev ports', () => {
  it('--port auto takes the first free port and says which; the address it prints is that one', async () => {
    // Hold a port so that "auto" from there has to move on.
    const held = await listenOn(0);
    const busy = (held.address() as { port: number }).port;
    const child = spawn(process.execPath, [CLI, 'dev', '--no-lab', '--port', 'auto', '--ui-port', 'auto', '--data-dir', mkdtempSync(join(tmpdir(), 'sddc-ports-'))], {
      env: { ...process.env, SDDC_OPS_DEV_PORT_FROM: String(busy) },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 60_000);
        child.stderr.on('data', () => {
          if (/Temporal address: /.test(stderr)) {
            clearTimeout(t);
            resolve(true);
          }
        });
        child.on('exit', () => resolve(false));
      });
      expect(ok, stderr).toBe(true);
      const chosen = Number(/Temporal frontend: auto, using (\d+)/.exec(stderr)?.[1]);
      expect(chosen).toBeGreaterThan(busy);
      expect(stderr).toContain(`Temporal address: 127.0.0.1:${chosen} `);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.on('exit', r));
      held.close();
    }
  }, 90_000);
});
