import { posix } from 'node:path';
import type { PinnedSftp } from '../providers/sftp/client.js';

export interface StoreEntry {
  name: string;
  /** 'd' directory, '-' regular file, 'l' link, anything else: leave it alone. */
  type: string;
  size: number;
  modifyTime: number;
}

/**
 * The backup target as a store. Every path is relative to the target directory and must be
 * normalised (no `.`, `..`, empty segments or leading slash): the store refuses anything else, so
 * no caller can reach outside the target, whatever a manifest says.
 */
export interface BackupStore {
  /** host:directory, for messages. */
  readonly where: string;
  exists(rel: string): Promise<false | string>;
  list(rel: string): Promise<StoreEntry[]>;
  readText(rel: string): Promise<string>;
  /** The file's content, or undefined when there is no such file (one request fewer than exists + read). */
  readTextIfPresent(rel: string): Promise<string | undefined>;
  /** Readers see the old content or the whole new content. */
  writeAtomic(rel: string, data: string): Promise<void>;
  /** Creates the file only if none exists; false when one does. Atomic on the server. */
  createExclusive(rel: string, data: string): Promise<boolean>;
  mkdirp(rel: string): Promise<void>;
  remove(rel: string): Promise<void>;
  rmdir(rel: string): Promise<void>;
}

export class PathOutsideTarget extends Error {
  override readonly name = 'PathOutsideTarget';
}

/** '' is the target directory itself. */
export function assertInsideTarget(rel: string): string {
  if (rel === '') return rel;
  const parts = rel.split('/');
  if (rel.length > 4096 || /[\\\0]/.test(rel) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new PathOutsideTarget(`refusing path "${rel}": not a normalised path inside the backup target`);
  }
  return rel;
}

export class SftpStore implements BackupStore {
  readonly where: string;
  private readonly base: string;
  constructor(readonly sftp: PinnedSftp, directory: string) {
    this.base = directory.replace(/\/+$/, '') || '/';
    this.where = `${sftp.endpoint.host}:${this.base}`;
  }
  private abs(rel: string): string {
    assertInsideTarget(rel);
    return rel ? posix.join(this.base, rel) : this.base;
  }
  exists(rel: string) {
    return this.sftp.exists(this.abs(rel));
  }
  list(rel: string) {
    return this.sftp.list(this.abs(rel));
  }
  readText(rel: string) {
    return this.sftp.readText(this.abs(rel));
  }
  readTextIfPresent(rel: string) {
    return this.sftp.readTextIfPresent(this.abs(rel));
  }
  writeAtomic(rel: string, data: string) {
    return this.sftp.writeFileAtomic(this.abs(rel), data);
  }
  createExclusive(rel: string, data: string) {
    return this.sftp.createExclusive(this.abs(rel), data);
  }
  mkdirp(rel: string) {
    return this.sftp.mkdirp(this.abs(rel));
  }
  remove(rel: string) {
    return this.sftp.remove(this.abs(rel));
  }
  rmdir(rel: string) {
    return this.sftp.rmdir(this.abs(rel));
  }
}

/**
 * An in-memory target with the same contract, for the property tests of catalog and retention.
 * It records every deletion, so a test can check what prune removed.
 */
export class MemoryStore implements BackupStore {
  readonly where = 'memory:/target';
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>(['']);
  readonly deleted: string[] = [];

  /** When set: every delete after this many fails, as when the connection drops mid-prune. */
  failRemoveAfter?: number;

  /** `latencyMs`: each call waits up to this long, so concurrent callers interleave as over a network. */
  constructor(initial: Record<string, string> = {}, private readonly o: { latencyMs?: number } = {}) {
    for (const [p, d] of Object.entries(initial)) this.put(p, d);
  }
  private async tick(): Promise<void> {
    if (this.o.latencyMs) await new Promise((r) => setTimeout(r, Math.random() * this.o.latencyMs!));
  }
  /** Writes a file and its parent folders, as a product would (no path checks: tests plant anything). */
  put(rel: string, data: string): void {
    this.files.set(rel, data);
    for (let d = posix.dirname(rel); d !== '.' && d !== '/' && d !== ''; d = posix.dirname(d)) this.dirs.add(d);
  }
  async exists(rel: string) {
    await this.tick();
    assertInsideTarget(rel);
    return this.files.has(rel) ? '-' : this.dirs.has(rel) ? 'd' : false;
  }
  async list(rel: string) {
    await this.tick();
    assertInsideTarget(rel);
    if (!this.dirs.has(rel)) throw new Error(`No such file: ${rel}`);
    const prefix = rel ? `${rel}/` : '';
    const out = new Map<string, StoreEntry>();
    for (const [p, d] of this.files) if (p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.set(p, { name: p.slice(prefix.length), type: '-', size: d.length, modifyTime: 0 });
    for (const p of this.dirs) if (p && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.set(p, { name: p.slice(prefix.length), type: 'd', size: 0, modifyTime: 0 });
    return [...out.values()];
  }
  async readText(rel: string) {
    await this.tick();
    assertInsideTarget(rel);
    const d = this.files.get(rel);
    if (d === undefined) throw new Error(`No such file: ${rel}`);
    return d;
  }
  async readTextIfPresent(rel: string) {
    await this.tick();
    assertInsideTarget(rel);
    return this.files.get(rel);
  }
  async writeAtomic(rel: string, data: string) {
    await this.tick();
    assertInsideTarget(rel);
    if (!this.dirs.has(posix.dirname(rel) === '.' ? '' : posix.dirname(rel))) throw new Error(`No such folder for ${rel}`);
    this.files.set(rel, data);
  }
  async createExclusive(rel: string, data: string) {
    await this.tick();
    assertInsideTarget(rel);
    // Check and create in one step, as the server's open(CREAT|EXCL) does; the content follows
    // in a second round trip, as over SFTP (a reader can see the file empty in between).
    if (this.files.has(rel)) return false;
    if (!this.dirs.has(posix.dirname(rel) === '.' ? '' : posix.dirname(rel))) throw new Error(`No such folder for ${rel}`);
    this.files.set(rel, '');
    await this.tick();
    if (this.files.has(rel)) this.files.set(rel, data);
    return true;
  }
  async mkdirp(rel: string) {
    await this.tick();
    assertInsideTarget(rel);
    for (let d = rel; d !== '.' && d !== ''; d = posix.dirname(d)) this.dirs.add(d);
  }
  async remove(rel: string) {
    await this.tick();
    assertInsideTarget(rel);
    if (this.failRemoveAfter !== undefined && this.deleted.length >= this.failRemoveAfter) throw new Error('connection lost (injected)');
    if (!this.files.delete(rel)) throw new Error(`No such file: ${rel}`);
    this.deleted.push(rel);
  }
  async rmdir(rel: string) {
    await this.tick();
    assertInsideTarget(rel);
    if ((await this.list(rel)).length) throw new Error(`Folder not empty: ${rel}`);
    this.dirs.delete(rel);
    this.deleted.push(`${rel}/`);
  }
}
