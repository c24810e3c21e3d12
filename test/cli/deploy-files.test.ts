import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

describe('deploy files', () => {
  it('the systemd unit passes systemd-analyze verify (with this machine\'s node in ExecStart)', () => {
    const unit = readFileSync(join(root, 'deploy/sddc-ops-worker.service'), 'utf8').replace('/usr/bin/node', process.execPath);
    const file = join(mkdtempSync(join(tmpdir(), 'sddc-unit-')), 'sddc-ops-worker.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(r.error, 'systemd-analyze is installed (.ci/run installs systemd)').toBeUndefined();
    expect(r.stderr).not.toMatch(/Unknown key|Unknown section|not executable|Invalid/);
    expect(r.status, r.stderr).toBe(0);
    // And it does catch a broken unit.
    writeFileSync(file, unit.replace('ExecStart=' + process.execPath, 'ExecStart=relative/node'));
    expect(spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' }).status).not.toBe(0);
  });

  it('the Dockerfile\'s build steps, run here without Docker, give a tree whose worker loads and bundles its workflows as an unprivileged user', () => {
    // No Docker daemon and no base image on these machines: the recipe's RUN steps are what can be checked.
    const docker = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(docker).toMatch(/^FROM node:20-slim/m);
    expect(docker).toMatch(/^USER node$/m);
    const steps = [...docker.matchAll(/^RUN (.+)$/gm)].map((m) => m[1]!);
    expect(steps).toEqual(['npm ci --no-audit --no-fund --ignore-scripts', 'npm run build && npm prune --omit=dev']);
    const app = mkdtempSync(join(tmpdir(), 'sddc-image-'));
    chmodSync(app, 0o755);
    // What the build stage COPYs (everything before the second FROM), as the recipe says.
    const buildStage = docker.split(/^FROM /m)[1]!;
    const copied = [...buildStage.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'src', 'workflows', 'scripts']));
    for (const f of copied) cpSync(join(root, f), join(app, f), { recursive: true });
    for (const step of steps) {
      // From npm's cache when it has the packages (CI's npm ci filled it): the registry is slow, not needed.
      const r = spawnSync('sh', ['-c', step.startsWith('npm ci') ? `${step} --prefer-offline` : step], { cwd: app, encoding: 'utf8' });
      expect(r.status, `${step}: ${r.stderr.slice(-2000)}`).toBe(0);
    }
    expect(existsSync(join(app, 'dist/workflow-bundle.js')), 'the build bundles the workflows once').toBe(true);
    spawnSync('chmod', ['-R', 'a+rX', app]);
    // As an unprivileged user, from the pruned tree: the worker's modules load and its workflows bundle (webpack is a runtime dependency).
    const check = `import('@temporalio/worker').then((w) => w.bundleWorkflowCode({ workflowsPath: '${app}/dist/workflows/index.js', logger: new w.DefaultLogger('ERROR') })).then((b) => console.log('bundle', b.code.length))`;
    const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '--input-type=module', '-e', check], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/^bundle \d{5,}/m);
    const help = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, 'dist/src/cli/main.js', 'worker', '--help'], { cwd: app, encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('--metrics');
  }, 300_000);
});
