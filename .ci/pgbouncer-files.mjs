// Prints the test files the pgbouncer project runs in CI (.ci/run): those that
// open a server test database (createTestApp or freshDatabase), directly or
// through a test helper they import; not test/db/replicas.test.ts.
//
// By default only the folders where pooling can break something: the db seam,
// the job queue and workflows (leases, locks, long transactions), identity and
// audit (serialised writes), the end-to-end run, the cache and ops (owner
// transactions, erasure) and the HTTP basics. Every other route goes through
// the same seam (db.tenant: one transaction, SET LOCAL), and
// test/db/pgbouncer.test.ts fails on any session state in the code. The whole
// set (`--all`, 144 files) takes about as long as the PostgreSQL project again,
// which CI's 90 minutes do not leave room for; the generated-input walk over
// every route (fuzz-routes, ten minutes on a server) is left to the other two
// projects.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OPENS = /\b(createTestApp|freshDatabase)\(/;
const HELPERS = [path.join(ROOT, 'test/helpers/app.ts'), path.join(ROOT, 'test/helpers/db.ts')];
const EXCLUDED = new Set(['test/db/replicas.test.ts']);
const memo = new Map();

function opens(file) {
  if (memo.has(file)) return memo.get(file);
  memo.set(file, false); // import cycles end here
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  let found = !HELPERS.includes(file) && OPENS.test(text);
  for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
    if (found) break;
    found = opens(path.resolve(path.dirname(file), `${m[1]}.ts`));
  }
  memo.set(file, found);
  return found;
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []);
}

const ALL = process.argv.includes('--all');
const FOLDERS = ['test/db/', 'test/jobs/', 'test/workflows/', 'test/identity/', 'test/audit/', 'test/e2e/', 'test/cache/', 'test/ops/', 'test/http/'];
const SLOW = new Set(['test/http/fuzz-routes.test.ts']);
// backup and restore drive pg_dump, pg_restore and psql, session tools that an operator points at the
// server itself (DATABASE_URL of a direct connection), not at a transaction pooler.
const DIRECT_ONLY = /^test\/ops\/backup-/;
const files = walk(path.join(ROOT, 'test'))
  .map((f) => path.relative(ROOT, f))
  .filter((f) => !EXCLUDED.has(f) && opens(path.join(ROOT, f)))
  .filter((f) => ALL || (FOLDERS.some((d) => f.startsWith(d)) && !SLOW.has(f) && !DIRECT_ONLY.test(f)))
  .sort();
process.stdout.write(`${files.join('\n')}\n`);
