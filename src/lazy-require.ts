import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS dependency loaded on first use rather than when the service
 * starts. Most starts never need some of them (the PostgreSQL client in
 * embedded mode, password hashing until someone logs in, the protobuf reader
 * until an OTLP/protobuf export arrives, JSON Schema compilation until a tool
 * is saved); loaded eagerly they cost ~20 MB and ~0.1–0.2 s of every start.
 * `require` keeps the call sites synchronous, as they were.
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
