// Test data, made once and cached under /var/tmp/sddc-ops-bench (SDDC_OPS_BENCH_DATA overrides).
// Each file has a sidecar <file>.json {recipe, size, sha256}: the file is reused when the sidecar's
// recipe is the current one and the size on disk matches; otherwise it is made again.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { GiB, MiB } from './timing.mjs';

export const DATA_DIR = process.env.SDDC_OPS_BENCH_DATA ?? '/var/tmp/sddc-ops-bench';

function cached(name, recipe, make) {
  const path = join(DATA_DIR, name);
  const stampFile = `${path}.json`;
  let pending;
  return () =>
    (pending ??= (async () => {
      mkdirSync(DATA_DIR, { recursive: true, mode: 0o755 });
      try {
        const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
        if (stamp.recipe === recipe && statSync(path).size === stamp.size) return { path, ...stamp };
      } catch {
        /* missing or stale: make it */
      }
      const t0 = Date.now();
      process.stderr.write(`  making ${path} (${recipe}) …\n`);
      const tmp = `${path}.tmp`;
      const { size, sha256 } = await make(tmp);
      renameSync(tmp, path);
      writeFileSync(stampFile, JSON.stringify({ recipe, size, sha256 }) + '\n');
      process.stderr.write(`  made ${path}: ${(size / MiB).toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      return { path, recipe, size, sha256 };
    })());
}

/** Writes `source` (optionally gzipped) to `file`, hashing what lands on disk. */
async function writeHashed(file, source, { gzip = false, onWritten } = {}) {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      onWritten?.(size);
      cb(null, chunk);
    },
  });
  const stages = gzip ? [source, createGzip({ level: 1 }), tap] : [source, tap];
  await pipeline(...stages, createWriteStream(file));
  return { size, sha256: hash.digest('hex') };
}

/** Base64 of random bytes in 76-character lines: compresses about 1.32:1, like already-compressed payloads. */
function base64Chunk() {
  const b64 = randomBytes(57 * 1024).toString('base64'); // 1024 lines of 76 characters
  const out = Buffer.allocUnsafe(77 * 1024);
  for (let i = 0; i < 1024; i++) {
    out.write(b64.slice(i * 76, i * 76 + 76), i * 77, 'latin1');
    out[i * 77 + 76] = 0x0a;
  }
  return out;
}

/** SQL-dump-like text (event rows with ids, names, timestamps, hex): compresses about 3:1. */
const WORDS = Array.from({ length: 4096 }, () => randomBytes(6).toString('base64url').slice(0, 3 + Math.floor(Math.random() * 7)));
const word = () => WORDS[Math.floor(Math.random() * WORDS.length)];
const two = (n) => String(n).padStart(2, '0');
function textChunk() {
  const lines = [];
  for (let i = 0; i < 8000; i++) {
    const r = Math.random;
    lines.push(
      `INSERT INTO vpx_event VALUES (${Math.floor(r() * 1e9)}, 'vim.event.${word()}${word()}Event', '2025-${two(1 + Math.floor(r() * 12))}-${two(1 + Math.floor(r() * 28))} ` +
        `${two(Math.floor(r() * 24))}:${two(Math.floor(r() * 60))}:${two(Math.floor(r() * 60))}', 'host-${Math.floor(r() * 5000)}', '${word()}.${word()}', '${r().toString(16).slice(2, 14)}');\n`,
    );
  }
  return Buffer.from(lines.join(''));
}

/** `size` bytes of what `chunk()` makes. */
async function* bytesOf(size, chunk) {
  let left = size;
  while (left > 0) {
    const c = chunk();
    const part = c.length <= left ? c : c.subarray(0, left);
    left -= part.length;
    yield part;
  }
}

/** A ustar header (regular file, mode 0644, root-owned). */
function tarHeader(name, size) {
  const h = Buffer.alloc(512);
  const field = (off, len, v) => h.write(v, off, len, 'latin1');
  field(0, 100, name);
  field(100, 8, '0000644\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, size.toString(8).padStart(11, '0') + '\0');
  field(136, 12, Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0');
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 8, 'ustar\x0000');
  field(265, 32, 'root');
  field(297, 32, 'root');
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

async function* tarOf(members) {
  for (const { name, size, chunk } of members) {
    yield tarHeader(name, size);
    yield* bytesOf(size, chunk);
    if (size % 512) yield Buffer.alloc(512 - (size % 512));
  }
  yield Buffer.alloc(1024);
}

/** 2 GiB of random bytes. */
export const random2g = cached('random-2g.bin', 'urandom-2GiB-v1', (tmp) => writeHashed(tmp, Readable.from(bytesOf(2 * GiB, () => randomBytes(MiB)))));

/**
 * A vCenter-like backup archive of about 1 GiB: a tar of an SQL-like dump (384 MiB, ~3:1) and an
 * already-compressed-like payload (base64 of random, 1170 MiB, ~1.32:1), gzip level 1.
 */
export const targz1g = cached('vcenter-backup-1g.tar.gz', 'tar-sql384M-b64-1170M-gzip1-v1', (tmp) =>
  writeHashed(
    tmp,
    Readable.from(
      tarOf([
        { name: 'database_full_backup.sql', size: 384 * MiB, chunk: textChunk },
        { name: 'stats_events_tasks.b64', size: 1170 * MiB, chunk: base64Chunk },
      ]),
    ),
    { gzip: true },
  ),
);

/** About 2 GiB of gzip (one member): 3 MiB of base64-of-random for each 1 MiB of SQL-like text, until 2 GiB come out. */
export const gz2g = cached('seat-2g.gz', 'mixed-b64x3-sql-until-2GiB-gzip1-v1', (tmp) => {
  let written = 0;
  async function* mixed() {
    for (let i = 0; written < 2 * GiB; i++) yield* bytesOf(MiB, i % 4 === 3 ? textChunk : base64Chunk);
  }
  return writeHashed(tmp, Readable.from(mixed()), { gzip: true, onWritten: (n) => (written = n) });
});

/** Reads a file once so that what follows reads it from the page cache. */
export function warm(path) {
  return new Promise((resolve, reject) => {
    const c = spawn('cat', [path], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.once('error', reject);
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cat ${path} exited ${code}`))));
  });
}

/**
 * A backup target directory holding `count` complete, verified sets of site `site`, their manifests
 * at <dir>/sets/<site>-YYYYMMDDTHHMMSSZ/backup-set.json (one set an hour from 2025-01-01).
 */
export function manifestTarget(site, count) {
  const dir = join(DATA_DIR, 'target');
  const sets = join(dir, 'sets');
  const stampFile = join(dir, 'manifests.json');
  const recipe = `${site}-${count}-v1`;
  const setIds = Array.from({ length: count }, (_, i) => `${site}-${new Date(Date.UTC(2025, 0, 1) + i * 3600_000).toISOString().replace(/[-:]|\.\d+/g, '')}`);
  let stale = true;
  try {
    stale = JSON.parse(readFileSync(stampFile, 'utf8')).recipe !== recipe || readdirSync(sets).length !== count;
  } catch {
    /* make them */
  }
  if (stale) {
    rmSync(sets, { recursive: true, force: true });
    rmSync(stampFile, { force: true });
    for (const id of setIds) {
      mkdirSync(join(sets, id), { recursive: true });
      writeFileSync(join(sets, id, 'backup-set.json'), JSON.stringify(manifestOf(site, id, dir), null, 2) + '\n');
    }
    writeFileSync(stampFile, JSON.stringify({ recipe }) + '\n');
  }
  return { dir, setIds };
}

function manifestOf(site, setId, directory) {
  const t = Date.parse(setId.replace(/^.*-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const iso = (ms) => new Date(t + ms).toISOString();
  const stamp = (ms) => iso(ms).replace(/[-:]|\.\d+/g, '').replace('T', '-').replace('Z', '');
  const sha = () => createHash('sha256').update(setId + Math.random()).digest('hex');
  const nsxFolder = `nsx/cluster-node-backups/3.2.1/bench-nsx/backup-${stamp(1000)}`;
  const vcFolder = `vcenter/vCenter/sn_vcsa01.bench.local/M_8.0.2.00100_${stamp(2000)}_`;
  const nsxFiles = ['node-a.tar', 'node-b.tar', 'node-c.tar', 'backup.json'].map((n, i) => ({ path: `${nsxFolder}/${n}`, size: 40_000_000 + i, sha256: sha() }));
  const vcFiles = ['backup-metadata.json', 'config_files.tar.gz', 'database_full_backup.tar.gz', 'lotus_backup.tar.gz', 'imagebuilder_backup.tar.gz', 'stats_events_tasks.tar.gz'].map((n, i) => ({
    path: `${vcFolder}/${n}`,
    size: 100_000_000 * (i + 1),
    sha256: sha(),
  }));
  const all = [...nsxFiles, ...vcFiles];
  return {
    schemaVersion: 1,
    setId,
    site,
    status: 'complete',
    revision: 3,
    startedAt: iso(0),
    endedAt: iso(40 * 60_000),
    runDeadline: t + 6 * 3600_000,
    verifiedAt: iso(40 * 60_000),
    workflow: { workflowId: `backup-${setId}`, runId: randomUUIDish(setId) },
    target: { host: '127.0.0.1', port: 22, directory, hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) },
    nsx: { backupId: `backup-${stamp(1000)}`, startTime: iso(1000), endTime: iso(10 * 60_000), productVersion: '4.1.2.0.0', passphraseRef: 'env:BENCH_NSX_PASSPHRASE', folders: [nsxFolder], files: nsxFiles },
    vcenter: {
      jobId: stamp(2000),
      startTime: iso(2000),
      endTime: iso(35 * 60_000),
      version: '8.0.2.00100',
      location: `sftp://127.0.0.1:22${directory}/vcenter`,
      backupPasswordRef: 'env:BENCH_VC_BACKUP_PASSWORD',
      folders: [vcFolder],
      files: vcFiles,
    },
    totals: { files: all.length, bytes: all.reduce((n, f) => n + f.size, 0) },
  };
}

const randomUUIDish = (s) => {
  const h = createHash('md5').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

