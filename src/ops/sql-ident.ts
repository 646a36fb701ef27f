/**
 * Table and column names that come from the catalog or a fixed list, checked
 * against this pattern before they are quoted into SQL (parameters cannot name
 * identifiers).
 */
const IDENT = /^[a-z_][a-z0-9_]*$/;

export function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`unexpected identifier: ${name}`);
  return `"${name}"`;
}
