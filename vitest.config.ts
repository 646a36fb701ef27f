import { defineConfig } from 'vitest/config';

// The suite runs on PGlite always, and again on server PostgreSQL when
// TEST_DATABASE_URL is set. Each test file gets its own fresh database.
const projects = [{ extends: true as const, test: { name: 'pglite', env: { AGENTBASE_TEST_DRIVER: 'pglite' } } }];
if (process.env.TEST_DATABASE_URL) {
  projects.push({ extends: true as const, test: { name: 'postgres', env: { AGENTBASE_TEST_DRIVER: 'postgres' } } });
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
