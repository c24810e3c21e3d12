import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Go program's sources, in the repository (found from the compiled file or the TypeScript one). */
export function vcsimSourceDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src/lab/vcsim/go.mod'))) return join(dir, 'src/lab/vcsim');
  }
  throw new Error('src/lab/vcsim (the lab SOAP simulator sources) not found above ' + fileURLToPath(import.meta.url));
}

export class VcsimUnavailableError extends Error {
  override readonly name = 'VcsimUnavailable';
}

/**
 * The lab's vSphere SOAP simulator (a Go program on govmomi's simulator library), built once into
 * the per-user cache and keyed by its sources, so an edit rebuilds it. Needs Go (the module proxy
 * serves govmomi); the build takes about a minute on two cores.
 */
export async function ensureVcsim(o: { env?: NodeJS.ProcessEnv; onProgress?: (line: string) => void } = {}): Promise<string> {
  const env = o.env ?? process.env;
  const src = vcsimSourceDir();
  const key = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) key.update(readFileSync(join(src, f)));
  const base = env.SDDC_OPS_CACHE_DIR ?? (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, 'sddc-ops') : join(env.HOME ?? homedir(), '.cache', 'sddc-ops'));
  const dir = join(base, 'vcsim', key.digest('hex').slice(0, 16));
  const bin = join(dir, 'sddc-ops-vcsim');
  try {
    accessSync(bin, constants.X_OK);
    return bin;
  } catch {
    /* build it */
  }
  mkdirSync(dir, { recursive: true });
  // A private name, then rename: test files that start at once may build side by side.
  const tmp = `${bin}.${process.pid}.${Date.now()}.tmp`;
  o.onProgress?.(`building the lab SOAP simulator (govmomi) into ${dir} …`);
  try {
    await run('go', ['build', '-o', tmp, '.'], { cwd: src, env: { ...env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' }, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new VcsimUnavailableError('Go is not installed: the lab SOAP simulator is built with `go build` from the Go module proxy');
    throw new VcsimUnavailableError(`building the lab SOAP simulator failed: ${(e.stderr ?? e.message).trim().slice(-2000)}`);
  }
  renameSync(tmp, bin);
  return bin;
}
