/**
 * Semantic Versioning 2.0.0 precedence (semver.org, item 11). Numbers are
 * compared as BigInt: "10.0.0" is greater than "9.0.0" whatever their length.
 * Build metadata (+…) does not count, so "1.0.0+a" and "1.0.0+b" are equal.
 */

// The official pattern from semver.org (no leading zeros, non-empty identifiers).
export const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

interface Parsed {
  core: [bigint, bigint, bigint];
  pre: string[];
}

function parse(v: string): Parsed {
  const m = SEMVER_RE.exec(v);
  if (!m) throw new Error(`not a semantic version: ${v}`);
  return { core: [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)], pre: m[4] ? m[4].split('.') : [] };
}

const NUMERIC = /^\d+$/;
const sign = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function compareIdentifiers(a: string, b: string): number {
  const an = NUMERIC.test(a);
  const bn = NUMERIC.test(b);
  if (an && bn) return sign(BigInt(a), BigInt(b));
  if (an !== bn) return an ? -1 : 1; // numeric identifiers sort below alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0; // ASCII order
}

/** Negative when a < b, 0 when they have equal precedence, positive when a > b. */
export function compareSemver(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const c = sign(x.core[i]!, y.core[i]!);
    if (c) return c;
  }
  // A pre-release sorts below its release: 1.0.0-rc.1 < 1.0.0.
  if (!x.pre.length || !y.pre.length) return (y.pre.length ? 1 : 0) - (x.pre.length ? 1 : 0);
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const c = compareIdentifiers(x.pre[i]!, y.pre[i]!);
    if (c) return c;
  }
  return x.pre.length - y.pre.length;
}

export function greatestSemver(versions: readonly string[]): string | undefined {
  return versions.reduce<string | undefined>((best, v) => (best === undefined || compareSemver(v, best) > 0 ? v : best), undefined);
}
