/** Bulk loads for the memory benchmark: not the product's write path, and not timed. */
import { uuidv7 } from '../src/db/index.js';
import { vectorText, type Space } from '../src/memory/space.js';
import { knowledgeItem } from './knowledge-data.js';
import { memoryText, narrowKnowledgeItem, rng } from './memory-data.js';

type Admin = { query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }> };

const MEMORY_TYPES = ['conversation', 'conversation', 'conversation', 'conversation', 'fact', 'fact', 'preference', 'preference', 'task', 'insight'];
const DAY_MS = 86_400_000;

/**
 * Rows from..to, round-robin over the agents, in batches of 2,000: the next
 * batch is generated and embedded (node) while the last is inserted (PostgreSQL).
 */
export async function bulkLoadMemories(
  admin: Admin, orgId: string, agents: string[], embedder: { embed(t: readonly string[]): Promise<{ vectors: number[][] }> }, space: Space,
  from: number, to: number, log: (s: string) => void,
): Promise<number> {
  const BATCH = 2000;
  const now = Date.now();
  let pending: Promise<unknown> = Promise.resolve();
  let next = from;
  let lastLog = from;
  for (let start = from; start < to; start += BATCH) {
    const n = Math.min(BATCH, to - start);
    const r = rng(1_000_003 + start);
    const texts = Array.from({ length: n }, () => memoryText(r));
    const { vectors } = await embedder.embed(texts);
    const cols = {
      id: texts.map(() => uuidv7()),
      agent: texts.map((_, k) => agents[(start + k) % agents.length]!),
      type: texts.map(() => MEMORY_TYPES[Math.floor(r() * MEMORY_TYPES.length)]!),
      imp: texts.map(() => Math.round(r() * 100) / 100),
      at: texts.map(() => new Date(now - r() * 365 * DAY_MS).toISOString()),
      vec: vectors.map((v) => vectorText(v.map((x) => Number(x.toPrecision(6))))),
    };
    await pending;
    pending = admin.query(
      `INSERT INTO agent_memories (id, org_id, agent_id, memory_type, content, importance_score, occurred_at, embedding_model, embedding_dims, embedding)
       SELECT x.id, $1, x.agent_id, x.memory_type, x.content, x.imp, x.at, $2, $3, x.e::vector
         FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::real[], $9::timestamptz[], $10::text[])
           AS x(id, agent_id, memory_type, content, imp, at, e)`,
      [orgId, space.model, space.dims, cols.id, cols.agent, cols.type, texts, cols.imp, cols.at, cols.vec],
    );
    next = start + n;
    if (next - lastLog >= 100_000) {
      log(`… ${next} rows`);
      lastLog = next;
    }
  }
  await pending;
  return next;
}

export async function bulkLoadKnowledge(
  admin: Admin, orgId: string, agents: string[], rows: number, corpus: 'realistic' | 'narrow', log: (s: string) => void,
): Promise<void> {
  const make = corpus === 'narrow' ? narrowKnowledgeItem : knowledgeItem;
  const BATCH = 5000;
  let pending: Promise<unknown> = Promise.resolve();
  for (let start = 0; start < rows; start += BATCH) {
    const n = Math.min(BATCH, rows - start);
    const r = rng(2_000_003 + start);
    const items = Array.from({ length: n }, () => make(r));
    const cols = {
      id: items.map(() => uuidv7()),
      domain: items.map((x) => x.domain),
      content: items.map((x) => JSON.stringify(x.content)),
      agent: items.map((_, k) => agents[(start + k) % agents.length]!),
      conf: items.map(() => Math.round(r() * 100) / 100),
    };
    await pending;
    pending = admin.query(
      `INSERT INTO knowledge_items (id, org_id, domain, content, source_agent_id, confidence)
       SELECT x.id, $1, x.domain, x.content::jsonb, x.agent, x.conf
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::numeric[]) AS x(id, domain, content, agent, conf)`,
      [orgId, cols.id, cols.domain, cols.content, cols.agent, cols.conf],
    );
    if ((start + n) % 200_000 === 0) log(`… ${start + n} knowledge items`);
  }
  await pending;
}

/**
 * The plan of the product's own statement: searchMemories runs on a Sql whose
 * main statement (the WITH …) is prefixed with EXPLAIN ANALYZE.
 */
