import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { SFTPWrapper } from 'ssh2';
import { GzipCheck } from './gzip-check.js';
import { readPipelined, type PipelineOptions } from './pipelined-read.js';
import { ECDSA_HOST_KEY_ALGORITHMS, keyType, sshFingerprint } from './fingerprint.js';
import { FingerprintMismatchError, SftpAuthError, SftpUnreachableError } from './errors.js';

export interface SftpEndpoint {
  host: string;
  port: number;
  user: string;
  /** Resolved secret values: callers resolve references right before connecting. */
  password?: string;
  privateKey?: string;
  hostKeyFingerprint: string;
}

export interface RemoteFile {
  /** Path relative to the directory that was listed. */
  path: string;
  size: number;
  modifiedAt: number;
}

export interface FileDigest {
  size: number;
  sha256: string;
  /** For *.gz files: whether the gzip stream decompressed to the end with a valid CRC. */
  gzipIntact?: boolean;
  gzipError?: string;
}

/** The ssh2 connection inside ssh2-sftp-client, and its socket. */
interface SshOf {
  client?: { once(e: 'close', f: () => void): void; destroy?: () => void; _sock?: { setNoDelay?: (v: boolean) => void; ref?: () => void; unref?: () => void } };
}

/** SSH_FX_FAILURE: what OpenSSH's sftp-server answers for an open(CREAT|EXCL) of an existing file. */
const SFTP_FAILURE = 4;
const SFTP_NO_SUCH_FILE = 2;

/**
 * One SFTP session with the host key pinned: only ECDSA keys are negotiated (as NSX Manager does)
 * and the connection is refused unless the key's SHA-256 fingerprint equals the pinned one.
 */
export class PinnedSftp {
  private open = true;

  private constructor(private readonly client: SftpClient, readonly endpoint: SftpEndpoint, readonly serverFingerprint: string) {
    this.ssh?.once('close', () => (this.open = false));
  }

  static async connect(endpoint: SftpEndpoint, opts: { readyTimeoutMs?: number } = {}): Promise<PinnedSftp> {
    const client = new SftpClient('sddc-ops');
    let offered: { fingerprint: string; type: string } | undefined;
    try {
      await client.connect({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        password: endpoint.privateKey ? undefined : endpoint.password,
        privateKey: endpoint.privateKey,
        readyTimeout: opts.readyTimeoutMs ?? 20_000,
        algorithms: { serverHostKey: [...ECDSA_HOST_KEY_ALGORITHMS] },
        hostVerifier: (key: Buffer) => {
          offered = { fingerprint: sshFingerprint(key), type: keyType(key) };
          return offered.fingerprint === endpoint.hostKeyFingerprint;
        },
      });
    } catch (err) {
      await client.end().catch(() => undefined);
      if (offered && offered.fingerprint !== endpoint.hostKeyFingerprint) {
        throw new FingerprintMismatchError(endpoint.host, endpoint.port, endpoint.hostKeyFingerprint, offered.fingerprint, offered.type);
      }
      const msg = (err as Error).message;
      if (/authentication/i.test(msg)) throw new SftpAuthError(endpoint.host, endpoint.user);
      if (/no matching host key/i.test(msg) || /handshake failed/i.test(msg)) {
        throw new SftpUnreachableError(endpoint.host, endpoint.port, `${msg} (the server must offer an ECDSA host key: NSX Manager pins only ECDSA fingerprints)`);
      }
      throw new SftpUnreachableError(endpoint.host, endpoint.port, msg);
    }
    // ssh2 leaves Nagle's algorithm on: with one read outstanding, each SFTP read then waits for a
    // delayed ACK (measured: 23 MB/s instead of ~240 MB/s on loopback). The socket is ssh2's own.
    (client as unknown as SshOf).client?._sock?.setNoDelay?.(true);
    return new PinnedSftp(client, endpoint, offered!.fingerprint);
  }

  /** Ends the session; a peer that does not answer the goodbye within 2 s has its connection cut. */
  async close(): Promise<void> {
    this.open = false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
    await Promise.race([this.client.end().catch(() => undefined), late]);
    clearTimeout(timer);
    this.ssh?.destroy?.();
  }

  /** Until it is closed, or the connection drops. */
  get isOpen(): boolean {
    return this.open && this.raw !== undefined;
  }

  /** Whether one round trip (realpath of the home directory) is answered within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<boolean> {
    const raw = this.raw;
    if (!raw) return false;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<boolean>((resolve) => {
      try {
        raw.realpath('.', (err) => resolve(!err));
      } catch {
        resolve(false); // ssh2 throws when its channel is already gone
      }
    });
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([answered, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** An idle session's connection does not keep the process running; one in use does. */
  setIdle(idle: boolean): void {
    const sock = this.ssh?._sock;
    if (idle) sock?.unref?.();
    else sock?.ref?.();
  }

  private get ssh() {
    return (this.client as unknown as SshOf).client;
  }

  /** 'd' directory, '-' file, false when missing. */
  exists(path: string): Promise<false | string> {
    return this.client.exists(path) as Promise<false | string>;
  }

  async mkdirp(path: string): Promise<void> {
    if ((await this.exists(path)) === 'd') return;
    await this.client.mkdir(path, true);
  }

  async readText(path: string): Promise<string> {
    const text = await this.readTextIfPresent(path);
    if (text === undefined) throw Object.assign(new Error(`No such file: ${path}`), { code: 'ENOENT' });
    return text;
  }

  /** A small file's content, or undefined when it does not exist: open, read, close (no stat first). */
  async readTextIfPresent(path: string): Promise<string | undefined> {
    return (await this.readBytesIfPresent(path))?.toString('utf8');
  }

  async readBytesIfPresent(path: string): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    try {
      await readPipelined(this.raw, path, (c) => void chunks.push(Buffer.from(c)), { chunkSize: 64 * 1024, inFlight: 1 });
    } catch (err) {
      if ((err as { code?: number }).code === SFTP_NO_SUCH_FILE) return undefined;
      throw err;
    }
    return Buffer.concat(chunks);
  }

  /** A small file's bytes (the whole file in memory). */
  async readFile(path: string): Promise<Buffer> {
    const data = await this.readBytesIfPresent(path);
    if (data === undefined) throw Object.assign(new Error(`No such file: ${path}`), { code: 'ENOENT' });
    return data;
  }

  /** Writes a file so that readers see either the old content or the whole new content. */
  async writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
    const tmp = `${posix.dirname(path)}/.${posix.basename(path)}.${randomBytes(4).toString('hex')}.tmp`;
    await this.client.put(Buffer.from(data), tmp);
    try {
      await this.client.posixRename(tmp, path);
    } catch {
      // Servers without posix-rename@openssh.com: plain SFTP rename refuses to overwrite.
      if (await this.exists(path)) await this.client.delete(path);
      await this.client.rename(tmp, path);
    }
  }

  /**
   * Creates a file only if none exists (SFTP open with CREAT|EXCL, atomic on the server): the
   * primitive behind per-set locks. Resolves false when the file already exists.
   */
  async createExclusive(path: string, data: string): Promise<boolean> {
    const raw = this.raw;
    try {
      await new Promise<void>((resolve, reject) => {
        raw.open(path, 'wx', (err, handle) => {
          if (err) return reject(err);
          const buf = Buffer.from(data);
          raw.write(handle, buf, 0, buf.length, 0, (werr) => raw.close(handle, (cerr) => (werr || cerr ? reject(werr ?? cerr) : resolve())));
        });
      });
      return true;
    } catch (err) {
      // OpenSSH answers EEXIST with a generic FAILURE (4); by now the holder may be gone, so that
      // code means "not created, try again", like an existing file. Other codes are real errors.
      if ((err as { code?: number }).code === SFTP_FAILURE || (await this.exists(path)) !== false) return false;
      throw err;
    }
  }

  async remove(path: string): Promise<void> {
    await this.client.delete(path, true);
  }

  async rmdir(path: string): Promise<void> {
    await this.client.rmdir(path);
  }

  async list(dir: string): Promise<{ name: string; type: string; size: number; modifyTime: number }[]> {
    return (await this.client.list(dir)).map((e) => ({ name: e.name, type: e.type, size: e.size, modifyTime: e.modifyTime }));
  }

  /** Every regular file under `dir`, with paths relative to it, sorted. */
  async listRecursive(dir: string): Promise<RemoteFile[]> {
    const out: RemoteFile[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const e of await this.list(rel ? `${dir}/${rel}` : dir)) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.type === 'd') await walk(p);
        else if (e.type === '-') out.push({ path: p, size: e.size, modifiedAt: e.modifyTime });
      }
    };
    await walk('');
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /**
   * Reads the file once, with reads pipelined: SHA-256, size, and for .gz files a full gzip
   * integrity check that inflates beside the hash (memory stays bounded whatever the size).
   */
  async digest(path: string, onProgress?: (bytes: number) => void, o: PipelineOptions = {}): Promise<FileDigest> {
    const hash = createHash('sha256');
    const gz = path.endsWith('.gz') ? new GzipCheck() : undefined;
    let size = 0;
    try {
      await readPipelined(
        this.raw,
        path,
        (chunk, release) => {
          hash.update(chunk);
          size += chunk.length;
          onProgress?.(size);
          if (!gz) return release();
          return gz.write(chunk, release);
        },
        o,
      );
    } catch (err) {
      gz?.abort(); // a connection lost mid-file must not leave an inflater behind
      throw err;
    }
    const result: FileDigest = { size, sha256: hash.digest('hex') };
    if (gz) {
      const error = await gz.end();
      result.gzipIntact = error === undefined;
      if (error) result.gzipError = error;
    }
    return result;
  }

  private get raw(): SFTPWrapper {
    return (this.client as unknown as { sftp: SFTPWrapper }).sftp;
  }
}

export async function withSftp<T>(endpoint: SftpEndpoint, fn: (sftp: PinnedSftp) => Promise<T>): Promise<T> {
  const sftp = await PinnedSftp.connect(endpoint);
  try {
    return await fn(sftp);
  } finally {
    await sftp.close();
  }
}
