import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { BackupError } from './errors.js';
import type { Manifest } from './manifest.js';

/**
 * A backup is one file an operator can move around and inspect: a plain
 * (uncompressed) POSIX tar holding `manifest.json` first and then the payload
 * (`agentbase.dump`, pg_dump's custom format, or `pgdata.tar.gz`, PGlite's
 * dump of its data folder). Both payloads are compressed already. `tar tf`
 * lists it and `tar xf` gives the dump back for a manual pg_restore.
 *
 * The manifest comes first so a reader learns what the file is from its first
 * kilobytes; it names the payload's size and SHA-256, so a damaged or cut
 * file is told apart before anything is restored.
 */

const BLOCK = 512;
export const MANIFEST_ENTRY = 'manifest.json';

function header(name: string, size: number, mtime: Date): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  if (size < 8 ** 11) {
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  } else {
    // GNU base-256 for sizes of 8 GiB and more: high bit set, big-endian value.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  h.write(`${Math.floor(mtime.getTime() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** SHA-256 and size of a file, streamed. */
export async function fileDigest(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Writes the archive beside `file` and renames it into place, so a backup
 * that fails halfway never leaves a file that looks whole.
 */
export async function writeArchive(file: string, manifest: Manifest, payloadName: string, payloadPath: string): Promise<number> {
  const partial = `${file}.partial-${process.pid}`;
  const now = new Date(manifest.createdAt);
  const json = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const { size } = await stat(payloadPath);
  try {
    const out = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
    async function* parts() {
      yield header(MANIFEST_ENTRY, json.length, now);
      yield json;
      yield padding(json.length);
      yield header(payloadName, size, now);
      for await (const chunk of createReadStream(payloadPath)) yield chunk as Buffer;
      yield padding(size);
      yield Buffer.alloc(2 * BLOCK);
    }
    await pipeline(parts(), out);
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return (await stat(file)).size;
}

interface Entry {
  name: string;
  size: number;
  /** where its data starts in the file */
  offset: number;
}

function parseHeader(h: Buffer, file: string): Entry | undefined {
  if (h.every((b) => b === 0)) return undefined;
  if (h.subarray(257, 262).toString('ascii') !== 'ustar') throw new BackupError('not_a_backup', `${file} is not an agentbase backup (not a tar archive)`);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  const stored = parseInt(h.subarray(148, 156).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
  if (stored !== sum) throw new BackupError('backup_damaged', `${file} is damaged: a tar header's checksum does not match`);
  const end = h.indexOf(0);
  const name = h.subarray(0, end < 0 || end > 100 ? 100 : end).toString('utf8');
  let size: number;
  if (h[124]! & 0x80) {
    let v = 0n;
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!);
    size = Number(v);
  } else {
    size = parseInt(h.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
  }
  if (!Number.isFinite(size)) throw new BackupError('backup_damaged', `${file} is damaged: a tar header has no size`);
  return { name, size, offset: 0 };
}

export interface OpenedArchive {
  manifest: Manifest;
  payload: Entry;
}

/** Reads the manifest and finds the payload; refuses anything that is not a whole agentbase backup. */
export async function readArchive(file: string): Promise<OpenedArchive> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new BackupError('backup_not_found', `cannot open ${file}: ${(err as Error).message}`);
  }
  try {
    const { size: total } = await fh.stat();
    const block = Buffer.alloc(BLOCK);
    const readAt = async (buf: Buffer, pos: number) => {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead < buf.length) throw new BackupError('backup_damaged', `${file} is cut short (${total} bytes): it is damaged or not a finished backup`);
    };
    if (total < BLOCK) throw new BackupError('not_a_backup', `${file} is not an agentbase backup (${total} bytes)`);
    await readAt(block, 0);
    const first = parseHeader(block, file);
    if (!first || first.name !== MANIFEST_ENTRY) throw new BackupError('not_a_backup', `${file} is not an agentbase backup (its first entry is not ${MANIFEST_ENTRY})`);
    if (first.size > 64 * 1024 * 1024) throw new BackupError('backup_damaged', `${file} is damaged: its manifest claims ${first.size} bytes`);
    const json = Buffer.alloc(first.size);
    await readAt(json, BLOCK);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(json.toString('utf8')) as Manifest;
    } catch {
      throw new BackupError('backup_damaged', `${file} is damaged: its manifest is not JSON`);
    }
    if (manifest?.format !== 'agentbase-backup') throw new BackupError('not_a_backup', `${file} is not an agentbase backup (its manifest is of another format)`);
    if (manifest.formatVersion !== 1) throw new BackupError('not_a_backup', `${file} is an agentbase backup of format ${String(manifest.formatVersion)}, which this version cannot read`);
    const at = BLOCK + first.size + padding(first.size).length;
    await readAt(block, at);
    const payload = parseHeader(block, file);
    if (!payload || payload.name !== manifest.payload.name) throw new BackupError('backup_damaged', `${file} is damaged: ${manifest.payload.name} is missing`);
    payload.offset = at + BLOCK;
    if (payload.offset + payload.size > total) throw new BackupError('backup_damaged', `${file} is cut short: ${manifest.payload.name} needs ${payload.size} bytes, ${total - payload.offset} are there`);
    if (payload.size !== manifest.payload.bytes) throw new BackupError('backup_damaged', `${file} is damaged: ${manifest.payload.name} has ${payload.size} bytes, the manifest says ${manifest.payload.bytes}`);
    return { manifest, payload };
  } finally {
    await fh.close();
  }
}

/** Copies the payload out to `to`, checking its SHA-256 against the manifest. */
export async function extractPayload(file: string, opened: OpenedArchive, to: string): Promise<void> {
  const hash = createHash('sha256');
  const { offset, size } = opened.payload;
  async function* hashed() {
    if (size === 0) return;
    for await (const chunk of createReadStream(file, { start: offset, end: offset + size - 1 })) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  }
  await pipeline(hashed(), createWriteStream(to, { flags: 'wx', mode: 0o600 }));
  if (hash.digest('hex') !== opened.manifest.payload.sha256) {
    await rm(to, { force: true });
    throw new BackupError('backup_damaged', `${file} is damaged: ${opened.manifest.payload.name} does not match the SHA-256 in its manifest`);
  }
}
