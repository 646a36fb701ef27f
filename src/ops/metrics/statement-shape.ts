import { createHash } from 'node:crypto';

/** What a query row says about its statement. */
export interface StatementShape {
  /** e.g. `SELECT executions`, `INSERT spans`, `SELECT auth_api_key()`: what the statement does to what */
  name: string;
  /** sha256 (hex) of the whitespace-normalised text: one value per statement, whatever its parameters */
  hash: string;
  /** the normalised text, cut to 500 characters (parameters are never in it: they travel apart) */
  text: string;
}

const VERB = /^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CALL|VALUES|MERGE|REFRESH|LOCK|SET|SHOW)\b/i;
const WRITE_TARGET = /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+([a-z_][a-z0-9_$]*(?:\.[a-z_][a-z0-9_$]*)?)/i;
const FROM = /\bFROM\s+([a-z_][a-z0-9_$]*(?:\.[a-z_][a-z0-9_$]*)?)/i;
const CALLED = /^\s*SELECT\s+(?:\*\s+FROM\s+)?([a-z_][a-z0-9_$]*(?:\.[a-z_][a-z0-9_$]*)?)\s*\(/i;

/**
 * The statement with every parenthesised part emptied (`(…)` becomes `()`)
 * and string literals and comments dropped: what is left is its top level, so
 * a subquery in the select list or a CTE body does not name the statement.
 */
function topLevel(text: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'") {
      // a literal: skip to its closing quote ('' is an escaped quote inside)
      i++;
      while (i < text.length && !(text[i] === "'" && text[i + 1] !== "'")) i += text[i] === "'" ? 2 : 1;
      continue;
    }
    if (ch === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (ch === '(') {
      if (depth === 0) out += '(';
      depth++;
    } else if (ch === ')') {
      depth = Math.max(0, depth - 1);
      if (depth === 0) out += ')';
    } else if (depth === 0) out += ch;
  }
  return out;
}

// The same few hundred statements run over and over: their shapes are kept
// (bounded: a process that makes statements up as it goes just recomputes).
const known = new Map<string, StatementShape>();
const KNOWN_MAX = 2000;

export function statementShape(sql: string): StatementShape {
  const hit = known.get(sql);
  if (hit) return hit;
  const text = sql.replace(/\s+/g, ' ').trim();
  const top = topLevel(sql).replace(/\s+/g, ' ').trim();
  const verb = (VERB.exec(top)?.[1] ?? 'SQL').toUpperCase();
  // A WITH names its write (INSERT … FROM cte) when it has one; otherwise what its main query reads first.
  const target = WRITE_TARGET.exec(top);
  const called = verb === 'SELECT' ? CALLED.exec(top) : null;
  let name: string;
  if (target) name = `${target[0].split(/\s+/)[0]!.toUpperCase()} ${target[1]}`;
  else if (called && !/^(count|sum|min|max|avg|coalesce|exists|jsonb?_\w+|array_\w+|set_config|now)$/i.test(called[1]!)) name = `SELECT ${called[1]}()`;
  else {
    const from = FROM.exec(top);
    name = from ? `${verb === 'WITH' ? 'SELECT' : verb} ${from[1]}` : verb;
  }
  const shape = { name: name.slice(0, 100), hash: createHash('sha256').update(text).digest('hex'), text: text.slice(0, 500) };
  if (known.size >= KNOWN_MAX) known.clear();
  known.set(sql, shape);
  return shape;
}
