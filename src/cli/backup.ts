import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { openDatabase } from '../db/index.js';
import {
  backupEmbedded,
  backupServer,
  BackupError,
  createProgress,
  exportOrg,
  formatBytes,
  restoreEmbedded,
  restoreServer,
  type BackupReport,
  type RestoreReport,
} from '../ops/index.js';

/**
 * `agentbase backup FILE`, `agentbase restore FILE` and `agentbase export
 * --org ID`. Exit codes: 0 done (and, for restore, verified); 1 refused,
 * failed, or restored but not matching the manifest; 2 a malformed argument.
 */

export interface BackupCliContext {
  config: () => Config;
  version: string;
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr is a terminal: draw progress bars instead of lines */
  errIsTTY: boolean;
  pathEnv: string | undefined;
  setCode: (code: number) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function backupLines(r: BackupReport): string {
  return [
    `backup written: ${r.file} (${formatBytes(r.bytes)})`,
    `  ${r.mode} database at migration ${r.migration}; ${r.tables} tables, ${r.rows} rows`,
    '',
  ].join('\n');
}

function restoreLines(r: RestoreReport & { replacedFolder?: string }): string {
  const lines = [`restored ${r.file} (${r.mode}): ${r.tables} tables, ${r.rows} rows`];
  if (r.replacedFolder) lines.push(`  the data folder it replaced is kept at ${r.replacedFolder} (delete it once you are satisfied)`);
  lines.push(
    r.mismatches.length
      ? `  MISMATCH: ${r.mismatches.length} difference(s) from the manifest:`
      : '  every table\'s row count and checksum and the migrations match the manifest',
  );
  for (const m of r.mismatches) lines.push(`    ${m.what}: expected ${m.expected}, found ${m.actual}`);
  const broken = r.chains.filter((c) => !c.ok);
  lines.push(
    broken.length
      ? `  BROKEN audit chains: ${broken.map((c) => `org ${c.orgId} at seq ${c.firstBreak?.seq}: ${c.firstBreak?.message}`).join('; ')}`
      : `  audit chains intact (${r.chains.length} organizations)`,
  );
  for (const w of r.warnings) lines.push(`  note: ${w}`);
  lines.push('');
  return lines.join('\n');
}

export function registerBackupCommands(program: Command, c: BackupCliContext): void {
  const progress = (json: boolean | undefined) => createProgress(c.err, c.errIsTTY && !json);
  const fail = (err: unknown): void => {
    if (err instanceof BackupError) {
      c.err(`agentbase: ${err.message}\n`);
      c.setCode(1);
      return;
    }
    throw err;
  };

  program
    .command('backup')
    .description('write a backup of the whole database to FILE: pg_dump (server) or the data folder (embedded, server stopped), with a manifest of row counts and checksums')
    .argument('<file>', 'the backup file to write (must not exist)')
    .option('--json', 'print the summary as JSON')
    .option('--pg-bin <dir>', 'the folder holding pg_dump of the server\'s major version')
    .action(async (file: string, o: { json?: boolean; pgBin?: string }) => {
      const { existsSync } = await import('node:fs');
      if (existsSync(file)) {
        c.err(`agentbase: ${file} exists: choose another file name (a backup never overwrites one)\n`);
        c.setCode(1);
        return;
      }
      const cfg = c.config();
      try {
        let report: BackupReport;
        if (cfg.database.mode === 'server') {
          const db = await openDatabase(cfg);
          try {
            report = await backupServer({ db, url: cfg.database.url, file, agentbaseVersion: c.version, progress: progress(o.json), binDir: o.pgBin, pathEnv: c.pathEnv });
          } finally {
            await db.close();
          }
        } else {
          report = await backupEmbedded({
            dataDir: cfg.database.dataDir,
            file,
            agentbaseVersion: c.version,
            progress: progress(o.json),
            sharedBuffersMb: cfg.database.sharedBuffersMb,
            wasmTierUp: cfg.database.wasmTierUp,
          });
        }
        c.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : backupLines(report));
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('restore')
    .description('restore a backup into an empty database (or replace one with --force), then verify it against the manifest and the audit chains')
    .argument('<file>', 'a file written by `agentbase backup`')
    .option('--force', 'restore even though the database holds data (a server database\'s objects are replaced; an embedded folder is kept aside)')
    .option('--json', 'print the report as JSON')
    .option('--pg-bin <dir>', 'the folder holding pg_restore of the server\'s major version')
    .action(async (file: string, o: { force?: boolean; json?: boolean; pgBin?: string }) => {
      const cfg = c.config();
      try {
        let report: RestoreReport & { replacedFolder?: string };
        if (cfg.database.mode === 'server') {
          const db = await openDatabase(cfg);
          try {
            report = await restoreServer({
              db,
              url: cfg.database.url,
              file,
              force: !!o.force,
              agentbaseVersion: c.version,
              progress: progress(o.json),
              binDir: o.pgBin,
              pathEnv: c.pathEnv,
            });
          } finally {
            await db.close();
          }
        } else {
          report = await restoreEmbedded({
            dataDir: cfg.database.dataDir,
            file,
            force: !!o.force,
            agentbaseVersion: c.version,
            progress: progress(o.json),
            sharedBuffersMb: cfg.database.sharedBuffersMb,
            wasmTierUp: cfg.database.wasmTierUp,
          });
        }
        c.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : restoreLines(report));
        if (!report.ok) c.setCode(1);
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('export')
    .description('export one organization\'s data as JSON lines (secrets left out) with a manifest of counts')
    .requiredOption('--org <id>', 'the organization id (a UUID)')
    .option('--out <path>', 'a folder (one <table>.jsonl per table and manifest.json), or a FILE.jsonl (default: agentbase-export-<org>)')
    .option('--json', 'print the manifest as JSON')
    .action(async (o: { org: string; out?: string; json?: boolean }) => {
      if (!UUID.test(o.org)) {
        c.err(`--org must be an organization id (a UUID), got ${JSON.stringify(o.org)}\n`);
        c.setCode(2);
        return;
      }
      const orgId = o.org.toLowerCase();
      const out = o.out ?? `agentbase-export-${orgId}`;
      const cfg = c.config();
      try {
        const db = await openDatabase(cfg);
        try {
          const m = await exportOrg({ db, orgId, out, agentbaseVersion: c.version, progress: progress(o.json) });
          const rows = m.tables.reduce((n, t) => n + t.rows, 0);
          c.out(
            o.json
              ? `${JSON.stringify(m, null, 2)}\n`
              : `exported organization ${orgId} to ${out}: ${rows} rows from ${m.tables.filter((t) => t.rows).length} tables (${m.tables.length} organization tables; secrets left out)\n`,
          );
        } finally {
          await db.close();
        }
      } catch (err) {
        fail(err);
      }
    });
}
