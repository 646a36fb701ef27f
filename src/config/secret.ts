import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, type Config } from './config.js';

/**
 * AGENTBASE_SECRET signs access tokens and encrypts stored secrets. Server mode
 * must be given one (several processes must agree on it); embedded mode makes
 * one on first start and keeps it, readable only by its owner, in the data folder.
 */
export async function resolveSecret(config: Config): Promise<string> {
  if (config.secret) return config.secret;
  if (config.database.mode === 'server') {
    throw new ConfigError('AGENTBASE_SECRET is required when DATABASE_URL is set (at least 32 characters)');
  }
  const dir = resolve(config.dataDir);
  const file = join(dir, 'secret');
  try {
    const s = (await readFile(file, 'utf8')).trim();
    if (s.length >= 32) return s;
    throw new ConfigError(`${file} is shorter than 32 characters; delete it to generate a new secret`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true });
  // Write a temporary file, then link it into place: link fails if the secret
  // already exists, so concurrent first starts agree on one complete secret.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, randomBytes(48).toString('base64url'), { mode: 0o600 });
  try {
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await unlink(tmp).catch(() => {});
  }
  return (await readFile(file, 'utf8')).trim();
}
