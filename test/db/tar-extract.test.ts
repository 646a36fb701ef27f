import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { extractTarGz, TarError } from '../../src/db/tar-extract.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';

/** The reader of PGlite's data folder dumps (tinytar's ustar); archives are written here by hand, header by header. */

afterAll(cleanupProcesses);

interface Item {
  name: string;
  type?: '0' | '2' | '5';
  data?: Buffer;
  mode?: number;
}

function header(it: Item): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, at: number) => h.write(s, at, 'utf8');
  put(it.name, 0);
  put(`${(it.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
  put(`${(it.data?.length ?? 0).toString(8).padStart(11, '0')}\0`, 124);
  put('00000000000\0', 136);
  put('        ', 148);
  put(it.type ?? '0', 156);
  put('ustar\0', 257);
  put('00', 263);
  return h;
}

function tarGz(items: Item[]): Buffer {
  const parts: Buffer[] = [];
  for (const it of items) {
    parts.push(header(it));
    if (it.data?.length) parts.push(it.data, Buffer.alloc((512 - (it.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

async function archive(items: Item[] | Buffer): Promise<string> {
  const file = join(await tempDir('agentbase-tar-'), 'a.tar.gz');
  await writeFile(file, Buffer.isBuffer(items) ? items : tarGz(items));
  return file;
}

// Files only: once is enough.
describe.runIf(driver === 'pglite')('extracting a data folder archive', () => {
  it('writes folders and files byte for byte, zero runs as holes, and leaves out what it is told to', async () => {
    // A WAL-like file: a little data, a long run of zeros, a little data again, zeros to the end.
    const wal = Buffer.alloc(1024 * 1024);
    wal.write('head', 0);
    wal.write('tail', 600_000);
    const odd = Buffer.from('x'.repeat(1000)); // not a multiple of the block size
    const file = await archive([
      { name: '/base', type: '5', mode: 0o750 },
      { name: '/base/1', type: '5' },
      { name: '/PG_VERSION', data: Buffer.from('18\n'), mode: 0o640 },
      { name: '/pg_wal/000000010000000000000001', data: wal }, // its folder has no entry of its own
      { name: '/base/1/1259', data: odd },
      { name: '/base/1/empty', data: Buffer.alloc(0) },
      { name: '/postmaster.pid', data: Buffer.from('42\n') },
    ]);
    const into = join(await tempDir('agentbase-tar-'), 'pgdata');
    const n = await extractTarGz(file, into, (name) => name === 'postmaster.pid');
    expect(n).toBe(4);
    expect(await readFile(join(into, 'PG_VERSION'), 'utf8')).toBe('18\n');
    expect((await readFile(join(into, 'pg_wal/000000010000000000000001'))).equals(wal)).toBe(true);
    expect((await readFile(join(into, 'base/1/1259'))).equals(odd)).toBe(true);
    expect(statSync(join(into, 'base/1/empty')).size).toBe(0);
    expect(existsSync(join(into, 'postmaster.pid'))).toBe(false);
    // Sparse: far fewer blocks on disk than the zero-filled megabyte (where the file system supports holes).
    const s = statSync(join(into, 'pg_wal/000000010000000000000001'));
    expect(s.size).toBe(wal.length);
    if (process.platform === 'linux') expect(s.blocks * 512).toBeLessThan(wal.length / 2);
    // Owner read/write, whatever the archive says.
    expect(statSync(join(into, 'PG_VERSION')).mode & 0o777).toBe(0o640);
  });

  it.each([
    ['a name that climbs out', [{ name: '/../evil', data: Buffer.from('x') }], /refusing the archive entry/],
    ['a symbolic link', [{ name: '/link', type: '2' as const }], /unsupported entry type "2"/],
  ])('refuses %s', async (_what, items, message) => {
    const into = join(await tempDir('agentbase-tar-'), 'pgdata');
    const err = await extractTarGz(await archive(items), into).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TarError);
    expect((err as Error).message).toMatch(message);
  });

  it('refuses a truncated archive and one that is not gzip', async () => {
    const whole = tarGz([{ name: '/PG_VERSION', data: Buffer.from('18\n') }, { name: '/big', data: Buffer.alloc(100_000, 1) }]);
    const cut = await archive(gzipSync(gunzipSync(whole).subarray(0, 20_000)));
    await expect(extractTarGz(cut, join(await tempDir('agentbase-tar-'), 'a'))).rejects.toThrow(/truncated inside big/);
    const garbage = await archive(Buffer.from('not gzip at all'));
    await expect(extractTarGz(garbage, join(await tempDir('agentbase-tar-'), 'b'))).rejects.toMatchObject({ code: expect.stringMatching(/^Z_/) });
  });

  it('refuses to write into a folder that exists', async () => {
    const into = await tempDir('agentbase-tar-');
    await expect(extractTarGz(await archive([{ name: '/x', data: Buffer.from('1') }]), into)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});

