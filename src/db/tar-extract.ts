import { closeSync, createReadStream, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * Extracts a gzipped tar archive written by PGlite's dumpDataDir into a folder
 * that does not exist yet.
 *
 * Hand-written because PGlite's own way in (`loadDataDir`) writes every file
 * through Emscripten's FS into its NODEFS mount, which measured ~0.7 s of CPU
 * for the ~1,500 files of a migrated database, more than the rest of a warm
 * start; Node has no tar reader and no dependency of ours ships one. It reads
 * only what dumpDataDir (tinytar) writes: regular files and folders, names
 * relative to the archive root. Anything else is refused, and the caller then
 * makes the database the slow way.
 *
 * Streamed: the ~64 MB the archive unpacks to never sit in memory at once (a
 * one-shot gunzip left ~60 MB of freed but still resident malloc heap behind).
 * Runs of zeros are not written (the file is sparse): a fresh database is
 * mostly preallocated, zero-filled WAL, and a hole reads as zeros.
 */

export class TarError extends Error {
  override name = 'TarError';
}

const BLOCK = 512;
const SEGMENT = 8192; // zero runs are looked for in pieces of this size
const ZEROS = Buffer.alloc(SEGMENT);

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

function octal(h: Buffer, start: number, length: number, what: string): number {
  const s = field(h, start, length).trim();
  if (!/^[0-7]+$/.test(s)) throw new TarError(`bad ${what} ${JSON.stringify(s)} in the archive`);
  return parseInt(s, 8);
}

/** The entry's path below the root, refusing anything that could leave it. */
function safeName(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (!parts.length || parts.some((p) => p === '..')) throw new TarError(`refusing the archive entry ${JSON.stringify(name)}`);
  return parts.join('/');
}

/** Writes `data` at `position`, skipping runs of zeros (they stay holes); returns where the last byte written ends. */
function writeSparse(fd: number, data: Buffer, position: number): number {
  let last = 0;
  let run = -1; // start of the pending run of non-zero bytes
  const flush = (end: number) => {
    for (let at = run; at < end; ) at += writeSync(fd, data, at, end - at, position + at);
    last = position + end;
    run = -1;
  };
  for (let at = 0; at < data.length; at += SEGMENT) {
    const end = Math.min(at + SEGMENT, data.length);
    const zero = data.compare(ZEROS, 0, end - at, at, end) === 0;
    if (zero && run >= 0) flush(at);
    else if (!zero && run < 0) run = at;
  }
  if (run >= 0) flush(data.length);
  return last;
}

interface Entry {
  name: string;
  size: number;
  /** where the data continues, and the open file (-1: a skipped entry) */
  written: number;
  /** the end of the last byte actually written (what follows is a hole until the file is extended) */
  end: number;
  fd: number;
  padding: number;
}

/**
 * Extracts `archive` (a .tar.gz) into `into`, which must not exist. Names for
 * which `skip` returns true are left out. Returns how many files were written.
 */
export async function extractTarGz(archive: string, into: string, skip: (name: string) => boolean = () => false): Promise<number> {
  mkdirSync(into, { mode: 0o700 });
  const made = new Set<string>(['.']);
  const folder = (path: string, mode: number) => {
    if (made.has(path)) return;
    mkdirSync(join(into, path), { recursive: true, mode });
    made.add(path);
  };
  let files = 0;
  let header = Buffer.alloc(0); // a header split across chunks
  let entry: Entry | undefined;
  let skipPadding = 0;
  let ended = false;

  const startEntry = (h: Buffer): void => {
    if (h.every((b) => b === 0)) {
      ended = true;
      return;
    }
    if (!field(h, 257, 6).startsWith('ustar')) throw new TarError('not a ustar archive');
    // tinytar's header keeps a 131-byte prefix at 345 (then atime and ctime), not POSIX's 155.
    const prefix = field(h, 345, 131);
    const name = safeName(prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    const size = octal(h, 124, 12, 'size');
    // Owner read/write always: the database must be able to open what it made.
    const mode = (octal(h, 100, 8, 'mode') & 0o777) | 0o600;
    const type = String.fromCharCode(h[156]!);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    let fd = -1;
    if (!skip(name)) {
      if (type === '5') {
        folder(name, mode | 0o700);
      } else if (type === '0' || type === '\0') {
        folder(dirname(name), 0o700);
        fd = openSync(join(into, name), 'wx', mode);
        files++;
      } else {
        throw new TarError(`unsupported entry type ${JSON.stringify(type)} for ${name}`);
      }
    }
    entry = { name, size, written: 0, end: 0, fd, padding };
    if (size === 0) finishEntry();
  };
  const finishEntry = (): void => {
    const e = entry!;
    if (e.fd >= 0) {
      if (e.end < e.size) ftruncateSync(e.fd, e.size); // the hole at the end
      closeSync(e.fd);
    }
    skipPadding = e.padding;
    entry = undefined;
  };

  // pipeline() reports a throw from the last stage as an AbortError: keep our own to rethrow it.
  let failure: unknown;
  const consume = async (chunks: AsyncIterable<Buffer>) => {
    try {
      await read(chunks);
    } catch (err) {
      failure = err;
      throw err;
    }
  };
  const read = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      let at = 0;
      while (at < chunk.length && !ended) {
        if (skipPadding) {
          const n = Math.min(skipPadding, chunk.length - at);
          skipPadding -= n;
          at += n;
        } else if (entry) {
          const n = Math.min(entry.size - entry.written, chunk.length - at);
          if (entry.fd >= 0) entry.end = Math.max(entry.end, writeSparse(entry.fd, chunk.subarray(at, at + n), entry.written));
          entry.written += n;
          at += n;
          if (entry.written === entry.size) finishEntry();
        } else {
          const n = Math.min(BLOCK - header.length, chunk.length - at);
          header = Buffer.concat([header, chunk.subarray(at, at + n)]);
          at += n;
          if (header.length === BLOCK) {
            const h = header;
            header = Buffer.alloc(0);
            startEntry(h);
          }
        }
      }
    }
  };
  try {
    await pipeline(createReadStream(archive), createGunzip({ chunkSize: 256 * 1024 }), consume).catch((err: unknown) => {
      throw failure ?? err;
    });
    if (!ended) throw new TarError(entry ? `the archive is truncated inside ${entry.name}` : 'the archive ends without its end-of-archive blocks');
  } finally {
    if (entry && entry.fd >= 0) closeSync(entry.fd);
  }
  return files;
}
