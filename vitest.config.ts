import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// The suite runs on PGlite always, and again on server PostgreSQL when
// TEST_DATABASE_URL is set. Each test file gets its own fresh database.
const projects: TestProjectInlineConfiguration[] = [{ extends: true, test: { name: 'pglite', env: { AGENTBASE_TEST_DRIVER: 'pglite' } } }];
if (process.env.TEST_DATABASE_URL) {
  projects.push({ extends: true, test: { name: 'postgres', env: { AGENTBASE_TEST_DRIVER: 'postgres' } } });
}
// The same server behind PgBouncer in transaction pooling (docs/scaling.md):
// TEST_PGBOUNCER=1 starts one for the run (test/helpers/pgbouncer-setup.ts), or
// TEST_PGBOUNCER_URL names one already running. .ci/run runs it on PGBOUNCER_FILES.
if (process.env.TEST_DATABASE_URL && (process.env.TEST_PGBOUNCER === '1' || process.env.TEST_PGBOUNCER_URL)) {
  projects.push({
    extends: true,
    test: {
      name: 'pgbouncer',
      env: { AGENTBASE_TEST_DRIVER: 'postgres', AGENTBASE_TEST_POOLER: 'pgbouncer' },
      globalSetup: ['test/helpers/pgbouncer-setup.ts'],
    },
  });
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects,
  },
});
