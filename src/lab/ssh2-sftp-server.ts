import { mkdirSync, existsSync, readFileSync, writeFileSync, promises as fsp, constants as FS, type Stats } from 'node:fs';
import { join, normalize } from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Connection, SFTPWrapper } from 'ssh2';
import { sshFingerprint } from '../providers/sftp/fingerprint.js';
import { freePort, type LabSftp } from './sftp-server.js';

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

/**
 * Fallback SFTP server for the demo when OpenSSH's sshd is missing or we are not root: the ssh2
 * library's server with an ECDSA host key and password login, serving files under `root` (client
 * path `/x` is `root/x` on disk). Tests use the real sshd; this one is for machines without it.
 */
export async function startSsh2Sftp(dir: string, opts: { port?: number; user?: string } = {}): Promise<LabSftp> {
  const root = join(dir, 'sftp-root');
  mkdirSync(root, { recursive: true });
  const keyFile = join(dir, 'ssh2_host_ecdsa_key');
  if (!existsSync(keyFile)) {
    const pair = utils.generateKeyPairSync('ecdsa', { bits: 256 });
    writeFileSync(keyFile, pair.private, { mode: 0o600 });
  }
  const hostKey = readFileSync(keyFile);
  const parsed = utils.parseKey(hostKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const fingerprint = sshFingerprint(key.getPublicSSH());
  const user = opts.user ?? 'sddcops-lab';
  const password = 'Lab-' + randomBytes(9).toString('base64url') + '1!';
  const diskPath = (p: string) => join(root, normalize('/' + p));
  const connections = new Set<Connection>();

  const server = new Server({ hostKeys: [hostKey] }, (client: Connection) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      const ok =
        ctx.method === 'password' &&
        ctx.username === user &&
        ctx.password.length === password.length &&
        timingSafeEqual(Buffer.from(ctx.password), Buffer.from(password));
      if (ok) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => serveSftp(acceptSftp(), diskPath));
      });
    });
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    kind: 'ssh2',
    host: '127.0.0.1',
    port,
    user,
    password,
    fingerprint,
    diskPath,
    homeDir: '/',
    stop: async () => {
      for (const c of connections) c.end();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function attrsOf(s: Stats) {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

function serveSftp(sftp: SFTPWrapper, disk: (p: string) => string): void {
  const handles = new Map<number, { fd?: fsp.FileHandle; dir?: string; listed?: boolean }>();
  let next = 1;
  const handleBuf = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const lookup = (h: Buffer) => handles.get(h.length === 4 ? h.readUInt32BE(0) : -1);
  const fail = (id: number, err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    sftp.status(id, code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE, String(code ?? err));
  };

  sftp.on('REALPATH', (id, p) => {
    const clean = normalize('/' + (p === '.' ? '' : p));
    sftp.name(id, [{ filename: clean, longname: clean, attrs: {} as never }]);
  });
  const stat = (id: number, p: string) => fsp.stat(disk(p)).then((s) => sftp.attrs(id, attrsOf(s)), (e) => fail(id, e));
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);
  sftp.on('FSTAT', (id, h) => {
    const e = lookup(h);
    if (!e?.fd) return sftp.status(id, STATUS_CODE.FAILURE);
    e.fd.stat().then((s) => sftp.attrs(id, attrsOf(s)), (err) => fail(id, err));
  });
  sftp.on('OPEN', (id, p, flags) => {
    let mode = 0;
    const rw = (flags & OPEN_MODE.READ) && (flags & OPEN_MODE.WRITE);
    mode |= rw ? FS.O_RDWR : flags & OPEN_MODE.WRITE ? FS.O_WRONLY : FS.O_RDONLY;
    if (flags & OPEN_MODE.CREAT) mode |= FS.O_CREAT;
    if (flags & OPEN_MODE.TRUNC) mode |= FS.O_TRUNC;
    if (flags & OPEN_MODE.EXCL) mode |= FS.O_EXCL;
    if (flags & OPEN_MODE.APPEND) mode |= FS.O_APPEND;
    fsp.open(disk(p), mode, 0o644).then((fd) => {
      const n = next++;
      handles.set(n, { fd });
      sftp.handle(id, handleBuf(n));
    }, (e) => fail(id, e));
  });
  sftp.on('READ', (id, h, offset, len) => {
    const e = lookup(h);
    if (!e?.fd) return sftp.status(id, STATUS_CODE.FAILURE);
    const buf = Buffer.alloc(len);
    e.fd.read(buf, 0, len, offset).then(({ bytesRead }) => (bytesRead === 0 ? sftp.status(id, STATUS_CODE.EOF) : sftp.data(id, buf.subarray(0, bytesRead))), (err) => fail(id, err));
  });
  sftp.on('WRITE', (id, h, offset, data) => {
    const e = lookup(h);
    if (!e?.fd) return sftp.status(id, STATUS_CODE.FAILURE);
    e.fd.write(data, 0, data.length, offset).then(() => sftp.status(id, STATUS_CODE.OK), (err) => fail(id, err));
  });
  sftp.on('CLOSE', (id, h) => {
    const e = lookup(h);
    handles.delete(h.readUInt32BE(0));
    if (e?.fd) e.fd.close().then(() => sftp.status(id, STATUS_CODE.OK), (err) => fail(id, err));
    else sftp.status(id, STATUS_CODE.OK);
  });
  sftp.on('OPENDIR', (id, p) => {
    fsp.stat(disk(p)).then((s) => {
      if (!s.isDirectory()) return sftp.status(id, STATUS_CODE.FAILURE, 'not a directory');
      const n = next++;
      handles.set(n, { dir: disk(p) });
      sftp.handle(id, handleBuf(n));
    }, (e) => fail(id, e));
  });
  sftp.on('READDIR', (id, h) => {
    const e = lookup(h);
    if (!e?.dir) return sftp.status(id, STATUS_CODE.FAILURE);
    if (e.listed) return sftp.status(id, STATUS_CODE.EOF);
    e.listed = true;
    const dir = e.dir;
    fsp.readdir(dir).then(async (names) => {
      const entries = await Promise.all(
        names.map(async (name) => {
          const s = await fsp.lstat(join(dir, name));
          const type = s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : '-';
          return { filename: name, longname: `${type}rw-r--r-- 1 lab lab ${s.size} Jan 1 00:00 ${name}`, attrs: attrsOf(s) };
        }),
      );
      if (entries.length === 0) sftp.status(id, STATUS_CODE.EOF);
      else sftp.name(id, entries);
    }, (err) => fail(id, err));
  });
  sftp.on('MKDIR', (id, p) => fsp.mkdir(disk(p)).then(() => sftp.status(id, STATUS_CODE.OK), (e) => fail(id, e)));
  sftp.on('RMDIR', (id, p) => fsp.rmdir(disk(p)).then(() => sftp.status(id, STATUS_CODE.OK), (e) => fail(id, e)));
  sftp.on('REMOVE', (id, p) => fsp.unlink(disk(p)).then(() => sftp.status(id, STATUS_CODE.OK), (e) => fail(id, e)));
  sftp.on('RENAME', (id, from, to) => {
    // Plain SFTP rename must not overwrite (draft-ietf-secsh-filexfer-02).
    fsp.access(disk(to)).then(
      () => sftp.status(id, STATUS_CODE.FAILURE, 'target exists'),
      () => fsp.rename(disk(from), disk(to)).then(() => sftp.status(id, STATUS_CODE.OK), (e) => fail(id, e)),
    );
  });
  sftp.on('SETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
  sftp.on('FSETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
}
