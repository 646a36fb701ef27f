// Run by `npm run build` (and `prepare`) after tsc: the template a new embedded
// data folder starts from (see src/db/pglite-template.ts). Skipped when the one
// in dist/ already holds exactly this build's migrations.
import { buildPgliteTemplate, DEFAULT_TEMPLATE_DIR, loadMigrations } from '../dist/db/index.js';

const started = performance.now();
const files = await loadMigrations();
const r = await buildPgliteTemplate(DEFAULT_TEMPLATE_DIR, files);
const took = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  r.built
    ? `PGlite template: ${files.length} migrations, ${(r.bytes / 1e6).toFixed(1)} MB in ${DEFAULT_TEMPLATE_DIR} (${took} s)\n`
    : `PGlite template: up to date (${files.length} migrations)\n`,
);
