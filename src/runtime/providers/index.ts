export type {
  ChatMessage,
  ChatProvider,
  ChatRequest,
  ChatResult,
  CompleteOptions,
  Delta,
  FinishReason,
  FunctionTool,
  ToolCall,
  ToolChoice,
  Usage,
} from './types.js';
export { parseToolArguments } from './types.js';
export { ProviderError, type ProviderErrorKind } from './errors.js';
export { defaultRetryPolicy, backoffDelay, parseRetryAfter, type RetryPolicy } from './retry.js';
export { OpenAICompatibleProvider, type OpenAICompatibleConfig } from './openai-compatible.js';
export { ScriptedProvider, type Script, type ScriptTurn } from './scripted.js';
