import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's built files (console/, built by `npm run build` into
 * dist/console-assets), read once at start-up and served from memory.
 *
 * Why not @fastify/static: the set is fixed and small (tens of KB), built
 * with the package; holding it in memory means only files that existed at
 * start-up can ever be served (no path from a URL reaches the file system),
 * and each answer carries its precomputed ETag.
 */

export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../dist/console-assets', import.meta.url));

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  /** a content-hashed file (assets/…-HASH.js): cached for a year, never revalidated */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface ConsoleAssets {
  /** the app's page (index.html), answered for every page path */
  index: Asset;
  /** by path below /console/, e.g. assets/index-abc123.js */
  files: Map<string, Asset>;
}

/** The built console in `dir`, or null when it has not been built (a source checkout before `npm run build`). */
export function loadConsoleAssets(dir = DEFAULT_ASSETS_DIR): ConsoleAssets | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const body = readFileSync(full);
        const rel = relative(dir, full).split(sep).join('/');
        files.set(rel, {
          body,
          type: TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
          immutable: rel.startsWith('assets/'),
        });
      }
    }
  };
  walk(dir);
  return { index: files.get('index.html')!, files };
}
