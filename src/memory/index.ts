/**
 * Memory and knowledge: what agents remember and learn (seeds 001, 002, 003).
 *
 * Terminology:
 * - memory:     one thing an agent remembers (agent_memories): content, a type
 *               (conversation, fact, preference, task, learning, insight),
 *               importance 0..1, optional session, tags and metadata, an
 *               embedding in one space, a full-text vector.
 * - space:      an (embedding model, dimensions) pair; vectors are compared only
 *               within one, each has its own HNSW index.
 * - hybrid:     vector top-k and full-text top-k fused by reciprocal rank, then
 *               weighted by importance and recency, in one SQL query.
 * - supersede:  changing a memory's content writes a new row and hides the old
 *               one from search (superseded_by), keeping history. Extraction
 *               after a run supersedes a near-duplicate fact the same way.
 * - knowledge:  an organization's knowledge base item (domain, JSON content);
 *               a transfer makes it a memory of another agent.
 * - learning:   a finding an agent made, with evidence, applied and success counts.
 * - pattern:    a reusable way of thinking (seed 003 cognitive patterns) with
 *               usage and accuracy kept per use.
 */
export type { MemoryDeps, EgressFetch, OpenSecret } from './deps.js';
export type { Embedder, EmbedderSpec, EmbedResult } from './embedders/types.js';
export { enableVectors, VECTOR_UNAVAILABLE_HINT } from './capability.js';
export { createMemory, type MemoryModule } from './module.js';
export { memoryRoutes } from './routes/index.js';
export { MEMORY_TYPES, type MemoryRow, type MemoryType } from './memories-repo.js';
export { saveMemories, searchAgent, searchAgentMemories, embedTexts, candidatesFor, type MemoryInput, type SearchInput, type SearchResult, type SearchMode } from './memories-service.js';
export { saveDeduplicated, DEDUPE_TYPES, type DedupedSave } from './memories-dedupe-service.js';
export type { EffectiveMemoryConfig } from './effective-config.js';
export { purgeExpiredMemories } from './memories-service.js';
export { memoryJobHandlers, REEMBED_TASK } from './reembed-service.js';
