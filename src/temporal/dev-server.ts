import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from './search-attributes.js';

export interface DevServerOptions {
  cliPath: string;
  dataDir: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  headless?: boolean;
  /** The codec server the Web UI decodes payloads through (--ui-codec-endpoint). */
  uiCodecEndpoint?: string;
  onLog?: (line: string) => void;
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUse';
  constructor(readonly port: number, readonly what: string, flag: string) {
    super(`port ${port} (${what}) is already in use on this machine: stop what holds it, or pick another with ${flag}`);
  }
}

export function assertPortFree(port: number, ip: string, what: string, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', () => reject(new PortInUseError(port, what, flag)));
    srv.listen(port, ip, () => srv.close(() => resolve()));
  });
}

/**
 * `temporal server start-dev` with SQLite in dataDir (runs survive a restart), the Web UI, and the
 * sddc-ops search attributes registered. stop() ends only the process it started.
 */
export async function startDevServer(o: DevServerOptions): Promise<Awaited<ReturnType<typeof startOnce>>> {
  // The CLI picks its HTTP API and metrics ports itself ("a random free port"), and another process
  // may take one before it binds: that, and only that, is worth another try.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(o);
    } catch (err) {
      const busy = /listen tcp [^:]+:(\d+): bind: address already in use/.exec((err as Error).message);
      const ours = [o.port ?? 7233, o.uiPort ?? 8233].map(String);
      if (!busy || ours.includes(busy[1]!) || attempt >= 3) throw err;
      o.onLog?.(`port ${busy[1]} was taken while the dev server started; starting it again`);
    }
  }
}

async function startOnce(o: DevServerOptions) {
  const ip = o.ip ?? '127.0.0.1';
  const port = o.port ?? 7233;
  const uiPort = o.uiPort ?? 8233;
  const namespace = o.namespace ?? 'default';
  await assertPortFree(port, ip, 'Temporal frontend', '--port');
  if (!o.headless) await assertPortFree(uiPort, ip, 'Temporal Web UI', '--ui-port');
  mkdirSync(o.dataDir, { recursive: true });
  const args = [
    'server', 'start-dev',
    '--db-filename', join(o.dataDir, 'temporal.sqlite'),
    '--ip', ip, '--port', String(port),
    '--namespace', namespace,
    '--log-level', 'warn',
    ...(o.headless ? ['--headless'] : ['--ui-port', String(uiPort), ...(o.uiCodecEndpoint ? ['--ui-codec-endpoint', o.uiCodecEndpoint] : [])]),
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  const child: ChildProcess = spawn(o.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const onData = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
    for (const line of d.toString().split('\n').filter(Boolean)) o.onLog?.(line);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const address = `${ip}:${port}`;
  let gaveUp = false;
  const ready = (async () => {
    const until = Date.now() + 90_000;
    for (;;) {
      if (gaveUp) return;
      try {
        const c = await Connection.connect({ address, connectTimeout: 2_000 });
        await c.workflowService.describeNamespace({ namespace });
        await c.close();
        return;
      } catch (err) {
        if (Date.now() > until) throw new Error(`Temporal dev server did not become ready at ${address}: ${(err as Error).message}\n${tail}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  })();
  try {
    await Promise.race([
      ready,
      exited.then((code) => {
        throw new Error(`temporal server start-dev exited (${code}) before it was ready:\n${tail}`);
      }),
    ]);
  } catch (err) {
    gaveUp = true;
    child.kill('SIGTERM');
    throw err;
  }
  return {
    address,
    namespace,
    uiUrl: o.headless ? undefined : `http://${ip}:${uiPort}`,
    pid: child.pid,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
