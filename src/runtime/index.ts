/**
 * The agent runtime. So far: model providers (an OpenAI-compatible HTTP
 * provider and an offline scripted one) behind one ChatProvider interface.
 */
export * from './providers/index.js';
