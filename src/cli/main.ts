#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import dotenv from 'dotenv';
import { parseConfig, type Config } from '../config/config.js';
import { maintainPartitions, migrate, migrationStatus, loadMigrations, openDatabase } from '../db/index.js';
import { verifyAllChains, verifyChain, type ChainReport } from '../audit/index.js';
import { AppError } from '../errors.js';
import { matviewStatus, refreshAllMatviews } from '../ops/index.js';
import { registerBackupCommands } from './backup.js';
import { grantPlatformAdmin, listPlatformAdmins, revokePlatformAdmin } from '../platform/index.js';
import { createLogger, maintain, startServer, VERSION } from '../server.js';

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (s: string) => void;
  err: (s: string) => void;
  /** resolves when the running server should stop (signals in the real binary) */
  stopSignal?: Promise<void>;
  /** stderr is a terminal (the real binary): progress is drawn as bars */
  errIsTTY?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function reportLine(r: ChainReport): string {
  return r.ok
    ? `ok    org ${r.orgId}: ${r.rowsChecked} rows, chain intact`
    : `BROKEN org ${r.orgId}: first bad row seq ${r.firstBreak!.seq}${r.firstBreak!.id ? ` (id ${r.firstBreak!.id})` : ''}: ${r.firstBreak!.reason}: ${r.firstBreak!.message}`;
}

/** Runs one CLI invocation; returns the exit code. Tests call this in-process. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let code = 0;
  const config = (): Config => parseConfig(io.env);
  const open = () =>
    openDatabase(config(), {
      onTakeover: (p) => io.err(`agentbase: the data folder was held by pid ${p.pid}, which is no longer running; took over its lock\n`),
    });
  const program = new Command()
    .name('agentbase')
    .description('agentbase: the PostgreSQL-native system of record for multi-agent AI applications')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command('start')
    .description('migrate, then serve the HTTP API on HOST:PORT (embedded PGlite unless DATABASE_URL is set)')
    .action(async () => {
      const cfg = config();
      const svc = await startServer(cfg, createLogger(cfg));
      io.out(`agentbase ${VERSION} listening on ${svc.url} (${svc.db.kind})\n`);
      await (io.stopSignal ?? new Promise<void>(() => {}));
      await svc.close();
    });

  program
    .command('migrate')
    .description('apply pending migrations (each in its own transaction; safe to run concurrently)')
    .option('--status', 'only list applied and pending migrations')
    .action(async (o: { status?: boolean }) => {
      const db = await open();
      try {
        if (o.status) {
          const s = await migrationStatus(db, await loadMigrations());
          io.out(`current: ${s.current}\npending: ${s.pending.length ? s.pending.join(', ') : 'none'}\n`);
          if (s.pending.length) code = 1;
          return;
        }
        const r = await migrate(db);
        const p = await maintainPartitions(db);
        io.out(`${r.applied.length ? `applied: ${r.applied.join(', ')}` : 'nothing to apply'}; at migration ${r.current}; partitions created: ${p.created}\n`);
      } finally {
        await db.close();
      }
    });

  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('recompute every hash chain; exits 1 naming the first bad row')
    .option('--org <id>', 'only this organization')
    .option('--json', 'print the reports as JSON')
    .action(async (o: { org?: string; json?: boolean }) => {
      if (o.org && !UUID.test(o.org)) {
        io.err(`--org must be an organization id (a UUID), got ${JSON.stringify(o.org)}\n`);
        code = 2;
        return;
      }
      const db = await open();
      try {
        const reports = o.org ? [await verifyChain(db, o.org)] : await verifyAllChains(db);
        if (o.json) io.out(`${JSON.stringify(reports, null, 2)}\n`);
        else for (const r of reports) io.out(`${reportLine(r)}\n`);
        if (reports.some((r) => !r.ok)) code = 1;
      } finally {
        await db.close();
      }
    });

  // Platform administrators (src/platform/admins): the operator's staff. Only
  // this command line, as the owner role, can grant them.
  const admin = program.command('admin').description('platform administrators: the operator\'s staff, who review marketplace listings');
  const by = (o: { by?: string }) => o.by ?? io.env.USER ?? io.env.USERNAME ?? 'unknown';
  const adminError = (err: unknown): number => {
    if (err instanceof AppError && err.status < 500) {
      io.err(`agentbase: ${err.message}\n`);
      return 1;
    }
    throw err;
  };
  admin
    .command('grant')
    .description('make the user with this email a platform administrator (audited in platform_audit)')
    .argument('<email>', 'the user\'s email (they must have signed up)')
    .option('--note <text>', 'why, kept with the grant')
    .option('--by <name>', 'who grants (default: $USER)')
    .action(async (email: string, o: { note?: string; by?: string }) => {
      const db = await open();
      try {
        const r = await grantPlatformAdmin(db, { email, by: by(o), note: o.note ?? null });
        io.out(r.granted ? `granted: ${r.email} (user ${r.userId}) is a platform administrator\n` : `unchanged: ${r.email} already is a platform administrator\n`);
      } catch (err) {
        code = adminError(err);
      } finally {
        await db.close();
      }
    });
  admin
    .command('revoke')
    .description('take platform administrator rights away from the user with this email (audited)')
    .argument('<email>', 'the user\'s email')
    .option('--by <name>', 'who revokes (default: $USER)')
    .action(async (email: string, o: { by?: string }) => {
      const db = await open();
      try {
        const r = await revokePlatformAdmin(db, { email, by: by(o) });
        io.out(`revoked: ${r.email} (user ${r.userId}) is no longer a platform administrator\n`);
      } catch (err) {
        code = adminError(err);
      } finally {
        await db.close();
      }
    });
  admin
    .command('list')
    .description('list the platform administrators')
    .option('--json', 'print them as JSON')
    .action(async (o: { json?: boolean }) => {
      const db = await open();
      try {
        const rows = await listPlatformAdmins(db);
        if (o.json) io.out(`${JSON.stringify(rows, null, 2)}\n`);
        else if (!rows.length) io.out('no platform administrators\n');
        else for (const r of rows) io.out(`${r.email}\t${r.userId}\tgranted ${new Date(r.grantedAt).toISOString()} by ${r.grantedBy}${r.note ? `\t${r.note}` : ''}\n`);
      } finally {
        await db.close();
      }
    });

  program
    .command('partitions')
    .description('create partitions ahead, drop those past retention, prune old ingestion keys and finished jobs now (the server does this hourly)')
    .action(async () => {
      const db = await open();
      try {
        const r = await maintain(db, new Date(), { cache: config().cache, retention: config().retention });
        io.out(`partitions created: ${r.created}, dropped: ${r.dropped}; ingestion keys pruned: ${r.keysPruned}; finished jobs pruned: ${r.jobsPruned}; expired memories purged: ${r.memoriesPurged}${r.retentionDeleted || r.retentionUnfinished ? `; rows past organizations' retention deleted: ${r.retentionDeleted}${r.retentionUnfinished ? ` (more left for the next run)` : ''}` : ''}\n`);
      } finally {
        await db.close();
      }
    });

  program
    .command('matviews')
    .description('materialized views: when each was last refreshed and how long it took; --refresh refreshes them now (the worker does it every AGENTBASE_MATVIEW_REFRESH_SECONDS)')
    .option('--refresh', 'refresh every view now; exits 1 when one fails')
    .option('--json', 'print as JSON')
    .action(async (o: { refresh?: boolean; json?: boolean }) => {
      const c = config();
      const db = await open();
      try {
        const refreshed = o.refresh ? await refreshAllMatviews(db) : [];
        if (refreshed.some((r) => r.status === 'failed')) code = 1;
        const status = await matviewStatus(db, { intervalSeconds: c.matviews.refreshSeconds });
        if (o.json) io.out(`${JSON.stringify(o.refresh ? { refreshed, status } : status, null, 2)}\n`);
        else {
          for (const r of refreshed) if (r.status === 'failed') io.err(`${r.name}: ${r.error}\n`);
          for (const v of status) {
            const age = v.stalenessSeconds === null ? 'never refreshed' : `refreshed ${Math.round(v.stalenessSeconds)} s ago in ${v.lastDurationMs?.toFixed(1)} ms, ${v.lastRows} rows${v.lastConcurrent ? ' (concurrently)' : ''}`;
            io.out(`${v.name}\t${age}${v.stale ? '\tSTALE' : ''}${v.lastError ? `\tlast attempt failed: ${v.lastError.message}` : ''}\n`);
          }
        }
      } finally {
        await db.close();
      }
    });
  registerBackupCommands(program, {
    config,
    version: VERSION,
    out: io.out,
    err: io.err,
    errIsTTY: io.errIsTTY ?? false,
    pathEnv: io.env.PATH,
    setCode: (c) => {
      code = c;
    },
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`agentbase: ${(err as Error).message}\n`);
    return 1;
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain || process.argv[1]?.endsWith('/agentbase')) {
  dotenv.config({ quiet: true });
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  runCli(process.argv.slice(2), {
    env: process.env,
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    stopSignal: stop,
    errIsTTY: process.stderr.isTTY === true,
  }).then(
    (c) => process.exit(c),
    (err: unknown) => {
      process.stderr.write(`agentbase: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
