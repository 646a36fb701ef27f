import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from '../../db/index.js';
import { appliedMigrations, deterministicSession, listTables } from './catalog-repo.js';
import { BackupError } from './errors.js';
import { closeRowCursor, columnsOf, fetchRows, isSecretColumn, openRowCursor, organizationExists, orgFilter } from './export-repo.js';
import type { Progress } from './progress.js';

/**
 * One organization's data as JSON lines: every table with an org_id column
 * (found in the catalog, so new tables are included), the organization's row
 * and its members' user rows, secrets left out. Read in one repeatable-read
 * transaction, so the files are one consistent moment.
 *
 * Written either as a folder (`<table>.jsonl` per table with rows, and
 * manifest.json) or, when the path ends in .jsonl, as one file whose lines are
 * {"table", "row"} and whose last line is {"manifest"}.
 */

export interface ExportManifest {
  format: 'agentbase-export';
  formatVersion: 1;
  orgId: string;
  agentbaseVersion: string;
  createdAt: string;
  migration: number;
  tables: Array<{ name: string; rows: number; excludedColumns: string[] }>;
  /** tables that belong to no organization (global) and are not exported */
  skippedTables: string[];
}

export interface ExportOptions {
  db: Database;
  orgId: string;
  out: string;
  agentbaseVersion: string;
  progress: Progress;
}

const PAGE = 1000;

interface Sink {
  begin(table: string): Promise<void>;
  row(table: string, json: string): Promise<void>;
  end(table: string, rows: number): Promise<void>;
  finish(manifest: ExportManifest): Promise<void>;
  abort(): Promise<void>;
}

const write = (s: WriteStream, text: string) =>
  new Promise<void>((resolve, reject) => {
    s.write(text, (err) => (err ? reject(err) : resolve()));
  });
const close = (s: WriteStream) => new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));

function fileSink(path: string): Sink {
  const partial = `${path}.partial-${process.pid}`;
  const s = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
  return {
    begin: async () => {},
    row: (table, json) => write(s, `{"table":${JSON.stringify(table)},"row":${json}}\n`),
    end: async () => {},
    async finish(manifest) {
      await write(s, `${JSON.stringify({ manifest })}\n`);
      await close(s);
      await rename(partial, path);
    },
    async abort() {
      s.destroy();
      await rm(partial, { force: true });
    },
  };
}

function folderSink(dir: string): Sink {
  let current: WriteStream | undefined;
  let path = '';
  return {
    async begin(table) {
      path = join(dir, `${table}.jsonl`);
      current = undefined;
    },
    async row(_table, json) {
      current ??= createWriteStream(path, { flags: 'wx', mode: 0o600 });
      await write(current, `${json}\n`);
    },
    async end() {
      if (current) await close(current);
      current = undefined;
    },
    async finish(manifest) {
      await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    },
    async abort() {
      current?.destroy();
    },
  };
}

async function openSink(out: string): Promise<Sink> {
  if (out.endsWith('.jsonl')) {
    if (existsSync(out)) throw new BackupError('output_exists', `${out} exists: choose another file or remove it`);
    return fileSink(out);
  }
  if (existsSync(out) && (await readdir(out)).length) throw new BackupError('output_exists', `${out} exists and is not empty: choose another folder`);
  await mkdir(out, { recursive: true, mode: 0o700 });
  return folderSink(out);
}

export async function exportOrg(o: ExportOptions): Promise<ExportManifest> {
  const sink = await openSink(o.out);
  try {
    const manifest = await o.db.admin.transaction(async (sql) => {
      await sql.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await deterministicSession(sql);
      if (!(await organizationExists(sql, o.orgId))) throw new BackupError('org_not_found', `no organization has id ${o.orgId}`);
      const migration = (await appliedMigrations(sql)).at(-1)?.version ?? 0;
      const all = await listTables(sql);
      const m: ExportManifest = {
        format: 'agentbase-export',
        formatVersion: 1,
        orgId: o.orgId,
        agentbaseVersion: o.agentbaseVersion,
        createdAt: new Date().toISOString(),
        migration,
        tables: [],
        skippedTables: [],
      };
      const tables = all.filter((t) => {
        const keep = orgFilter(t.name, t.hasOrgId) !== undefined;
        if (!keep) m.skippedTables.push(t.name);
        return keep;
      });
      o.progress.start(`exporting organization ${o.orgId}`, tables.length, 'tables');
      for (const t of tables) {
        const excluded = (await columnsOf(sql, t.name)).filter((c) => isSecretColumn(t.name, c));
        await sink.begin(t.name);
        await openRowCursor(sql, t.name, orgFilter(t.name, t.hasOrgId)!, o.orgId, excluded, t.primaryKey);
        let rows = 0;
        for (;;) {
          const page = await fetchRows(sql, PAGE);
          for (const j of page) await sink.row(t.name, j);
          rows += page.length;
          if (page.length < PAGE) break;
        }
        await closeRowCursor(sql);
        await sink.end(t.name, rows);
        m.tables.push({ name: t.name, rows, excludedColumns: excluded });
        o.progress.tick(1, t.name);
      }
      o.progress.end();
      return m;
    });
    await sink.finish(manifest);
    return manifest;
  } catch (err) {
    await sink.abort();
    throw err;
  }
}
