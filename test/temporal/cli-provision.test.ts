import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, ensureTemporalCli, TEMPORAL_CLI_VERSION } from '../../src/temporal/cli-provision.js';

function fakeExe(path: string, body = 'echo temporal'): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), 'prov-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // Only the tools the build path needs; no temporal and no go unless a test adds them.
  for (const tool of ['sh', 'tar', 'gzip']) fakeExe(join(bin, tool), `exec /bin/${tool} "$@"`);
  return { dir, bin, env: { PATH: bin, HOME: dir, SDDC_OPS_CACHE_DIR: join(dir, 'cache') } as NodeJS.ProcessEnv };
}

describe('finding the temporal CLI', () => {
  it('TEMPORAL_CLI_PATH wins, and must be executable', async () => {
    const s = sandbox();
    const exe = fakeExe(join(s.dir, 'my-temporal'));
    fakeExe(join(s.bin, 'temporal'));
    expect(await ensureTemporalCli({ env: { ...s.env, TEMPORAL_CLI_PATH: exe } })).toEqual({ path: exe, source: 'env' });
    await expect(ensureTemporalCli({ env: { ...s.env, TEMPORAL_CLI_PATH: join(s.dir, 'missing') } })).rejects.toThrow(/not an executable/);
  });

  it('then temporal on PATH, then the per-user cache keyed by version', async () => {
    const s = sandbox();
    const onPath = fakeExe(join(s.bin, 'temporal'));
    expect(await ensureTemporalCli({ env: s.env })).toEqual({ path: onPath, source: 'path' });
    const s2 = sandbox();
    const dir = cacheDir(s2.env);
    expect(dir).toBe(join(s2.dir, 'cache', 'temporal-cli', TEMPORAL_CLI_VERSION));
    mkdirSync(dir, { recursive: true });
    const cached = fakeExe(join(dir, 'temporal'));
    expect(await ensureTemporalCli({ env: s2.env })).toEqual({ path: cached, source: 'cache' });
  });

  it('builds with go install into the cache when Go exists, showing progress', async () => {
    const s = sandbox();
    // A stand-in for go that records its arguments and "builds" into $GOBIN like go install does.
    fakeExe(join(s.bin, 'go'), `echo "$@" > "${s.dir}/go-args"; echo "go: downloading github.com/temporalio/cli"; printf '#!/bin/sh\\n' > "$GOBIN/temporal"; /bin/chmod +x "$GOBIN/temporal"`);
    const lines: string[] = [];
    const r = await ensureTemporalCli({ env: s.env, onProgress: (l) => lines.push(l) });
    expect(r).toEqual({ path: join(cacheDir(s.env), 'temporal'), source: 'built' });
    expect(execFileSync('cat', [join(s.dir, 'go-args')]).toString().trim()).toBe(`install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`);
    expect(lines.join('\n')).toMatch(/building the temporal CLI v1\.5\.1/);
  });

  it('reports a failed build with the tail of its output', async () => {
    const s = sandbox();
    fakeExe(join(s.bin, 'go'), 'echo "module lookup disabled" >&2; exit 1');
    await expect(ensureTemporalCli({ env: s.env })).rejects.toThrow(/failed \(exit 1\)[\s\S]*module lookup disabled/);
  });

  it('without Go, downloads the archive the way the SDK does (info URL, then archive, then extract)', async () => {
    const s = sandbox();
    const pkg = join(s.dir, 'pkg');
    mkdirSync(pkg);
    fakeExe(join(pkg, 'temporal'));
    execFileSync('tar', ['-czf', join(s.dir, 'cli.tar.gz'), '-C', pkg, 'temporal']);
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url!);
      if (req.url!.startsWith('/cli/archive/')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ archiveUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/files/cli.tar.gz`, fileToExtract: 'temporal' }));
      } else res.end(execFileSync('cat', [join(s.dir, 'cli.tar.gz')]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const r = await ensureTemporalCli({ env: s.env, downloadBase: base });
      expect(r.source).toBe('downloaded');
      expect(execFileSync(r.path).toString().trim()).toBe('temporal');
      expect(seen[0]).toMatch(/^\/cli\/archive\/1\.5\.1\?platform=linux&arch=(amd64|arm64)/);
    } finally {
      server.close();
    }
  });

  it('without Go and without a network, says what to do', async () => {
    const s = sandbox();
    await expect(ensureTemporalCli({ env: s.env, downloadBase: 'http://127.0.0.1:9' })).rejects.toThrow(/install Go .* or set TEMPORAL_CLI_PATH/);
  });
});
