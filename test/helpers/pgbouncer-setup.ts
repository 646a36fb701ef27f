import type { TestProject } from 'vitest/node';
import { startPgbouncer } from './pgbouncer.js';

/**
 * globalSetup of the `pgbouncer` project: the URL test databases are reached
 * through (test/helpers/db.ts). TEST_PGBOUNCER_URL names a PgBouncer already
 * running (transaction pooling, in front of TEST_DATABASE_URL's server);
 * without it one is started for the run and stopped after.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.TEST_PGBOUNCER_URL;
  if (given) {
    project.provide('pgbouncerUrl', given);
    return undefined;
  }
  const server = process.env.TEST_DATABASE_URL;
  if (!server) throw new Error('the pgbouncer project needs TEST_DATABASE_URL (the server PgBouncer pools)');
  const bouncer = await startPgbouncer(server);
  project.provide('pgbouncerUrl', bouncer.url('postgres'));
  return () => bouncer.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgbouncerUrl: string;
  }
}
