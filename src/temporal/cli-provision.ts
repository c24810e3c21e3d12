import { spawn, execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, createWriteStream, rmSync, renameSync } from 'node:fs';
import { homedir, platform, arch } from 'node:os';
import { delimiter, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

/** The CLI version whose go.mod still `go install`s (later tags carry replace directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export type CliSource = 'env' | 'path' | 'cache' | 'built' | 'downloaded';

export interface ProvisionOptions {
  env?: NodeJS.ProcessEnv;
  version?: string;
  /** Progress lines for a human; the go build takes minutes once. */
  onProgress?: (line: string) => void;
  /** Where the official download is fetched from (the SDK's own endpoint by default). */
  downloadBase?: string;
}

export class TemporalCliUnavailableError extends Error {
  override readonly name = 'TemporalCliUnavailable';
}

/** Per-user cache outside the repository, keyed by version. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, version = TEMPORAL_CLI_VERSION): string {
  const base = env.SDDC_OPS_CACHE_DIR ?? (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, 'sddc-ops') : join(env.HOME ?? homedir(), '.cache', 'sddc-ops'));
  return join(base, 'temporal-cli', version);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/**
 * Finds the `temporal` CLI: TEMPORAL_CLI_PATH; `temporal` on PATH; the per-user cache; a build
 * with `go install` into the cache when Go exists; else the official download, as the SDK does.
 */
export async function ensureTemporalCli(opts: ProvisionOptions = {}): Promise<{ path: string; source: CliSource }> {
  const env = opts.env ?? process.env;
  const version = opts.version ?? TEMPORAL_CLI_VERSION;
  const say = opts.onProgress ?? (() => undefined);
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new TemporalCliUnavailableError(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    }
    return { path: env.TEMPORAL_CLI_PATH, source: 'env' };
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return { path: fromPath, source: 'path' };
  const dir = cacheDir(env, version);
  const cached = join(dir, 'temporal');
  if (isExecutable(cached)) return { path: cached, source: 'cache' };

  const go = onPath('go', env);
  if (go) {
    mkdirSync(dir, { recursive: true });
    say(`building the temporal CLI ${version} with ${go} into ${dir} (once; takes a few minutes)…`);
    await runWithProgress(go, ['install', `${TEMPORAL_CLI_MODULE}@${version}`], { ...env, GOBIN: dir, GOFLAGS: env.GOFLAGS ?? '-buildvcs=false' }, say);
    if (!isExecutable(cached)) throw new TemporalCliUnavailableError(`go install finished but ${cached} is missing`);
    say(`built ${cached}`);
    return { path: cached, source: 'built' };
  }
  say(`Go is not installed: downloading the temporal CLI ${version}…`);
  await download(version, dir, opts.downloadBase ?? env.SDDC_OPS_TEMPORAL_DOWNLOAD_BASE ?? 'https://temporal.download', say);
  if (!isExecutable(cached)) throw new TemporalCliUnavailableError(`the download did not contain a temporal executable`);
  return { path: cached, source: 'downloaded' };
}

function runWithProgress(cmd: string, args: string[], env: NodeJS.ProcessEnv, say: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let lines = 0;
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        lines += 1;
        tail = (tail + line + '\n').slice(-3000);
        if (lines % 20 === 1) say(`  ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const started = Date.now();
    const tick = setInterval(() => say(`  still building (${Math.round((Date.now() - started) / 1000)} s)…`), 15_000);
    child.on('error', (e) => {
      clearInterval(tick);
      reject(new TemporalCliUnavailableError(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(tick);
      if (code === 0) resolve();
      else reject(new TemporalCliUnavailableError(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${tail}`));
    });
  });
}

/** The SDK's download: GET {base}/cli/archive/{version}?platform&arch → archive URL → extract `temporal`. */
async function download(version: string, dir: string, base: string, say: (l: string) => void): Promise<void> {
  const plat = platform() === 'darwin' ? 'darwin' : platform() === 'win32' ? 'windows' : 'linux';
  const cpu = arch() === 'arm64' ? 'arm64' : 'amd64';
  const infoUrl = `${base}/cli/archive/${version.replace(/^v/, '')}?platform=${plat}&arch=${cpu}&sdk-name=sdk-typescript&sdk-version=1.24.0&format=json`;
  let info: { archiveUrl: string; fileToExtract: string };
  try {
    const res = await fetch(infoUrl);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    info = (await res.json()) as typeof info;
  } catch (err) {
    throw new TemporalCliUnavailableError(
      `cannot download the temporal CLI (${(err as Error).message}); install Go and re-run to build it, or set TEMPORAL_CLI_PATH`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, 'download.tar.gz');
  say(`  fetching ${info.archiveUrl}`);
  const res = await fetch(info.archiveUrl);
  if (!res.ok || !res.body) throw new TemporalCliUnavailableError(`download of ${info.archiveUrl} failed: HTTP ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(archive));
  const tmp = join(dir, 'extract');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  execFileSync('tar', ['-xzf', archive, '-C', tmp]);
  const extracted = join(tmp, info.fileToExtract);
  if (!existsSync(extracted)) throw new TemporalCliUnavailableError(`archive has no ${info.fileToExtract}`);
  renameSync(extracted, join(dir, 'temporal'));
  rmSync(tmp, { recursive: true, force: true });
  rmSync(archive, { force: true });
}
