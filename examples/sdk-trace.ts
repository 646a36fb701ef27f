// examples/sdk-trace.ts — an application that calls its model itself records each run of
// its agent with the SDK's BatchExporter, then reads it back with AgentbaseClient.
// Run: npx tsx examples/sdk-trace.ts (in this repository 'agentbase/sdk' is src/sdk,
// through tsconfig.json's paths; elsewhere it is the installed package).
// Environment:
//   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
//   AGENTBASE_API_KEY  a key with executions:write and executions:read (examples/quickstart.sh prints one)
//   AGENTBASE_AGENT    the slug of an agent of the organization (default greeter, made by quickstart.sh)
import { AgentbaseClient, AgentbaseError, BatchExporter } from 'agentbase/sdk';

const baseUrl = process.env.AGENTBASE_URL ?? 'http://127.0.0.1:4100';
const apiKey = process.env.AGENTBASE_API_KEY;
if (!apiKey) throw new Error('set AGENTBASE_API_KEY (examples/quickstart.sh prints one)');
const agentSlug = process.env.AGENTBASE_AGENT ?? 'greeter';

let problems = 0;
const exporter = new BatchExporter({
  baseUrl,
  apiKey,
  onError: (p) => {
    problems++; // items the API rejected, batches given up
    console.error('agentbase export problem:', p);
  },
});

// One run: recorded as running when it starts, a span per model or tool call, then its end.
const sessionId = `sdk-example-${Date.now()}`;
const run = exporter.startExecution({ agentSlug, sessionId, input: { question: 'What should I pack for Oslo?' } });
run.span({ kind: 'llm_call', name: 'chat', model: 'gpt-4o-mini', provider: 'openai', promptTokens: 812, completionTokens: 95 });
run.span({ kind: 'tool_call', name: 'get_weather', toolName: 'get_weather', input: { city: 'Oslo' }, output: { celsius: -3 } });
run.span({ kind: 'llm_call', name: 'chat', model: 'gpt-4o-mini', provider: 'openai', promptTokens: 950, completionTokens: 40 });
run.end('completed', { output: { answer: 'A warm coat and good boots.' } });

// The exporter sends in the background, in batches: nothing is stored until it has sent.
// flush() waits for what was recorded so far; shutdown() flushes and stops (call it before exiting).
await exporter.flush();
await exporter.shutdown();
const { sent, rejected, dropped } = exporter.stats();
console.log(`exported: ${sent} items sent, ${rejected} rejected, ${dropped} dropped`);
if (problems > 0 || rejected > 0 || dropped > 0) process.exit(1);

const client = new AgentbaseClient({ baseUrl, apiKey });
const page = await client.listExecutions({ sessionId });
const execution = page.data[0];
if (!execution) throw new Error(`no execution of session ${sessionId}`);
const detail = await client.getExecution(execution.id); // with its span tree
console.log(`execution ${detail.id}: ${detail.status}, ${detail.spans.length} spans,`,
  `${detail.promptTokens} tokens in, ${detail.completionTokens} out, $${detail.costUsd}`);

const today = await client.costs({ groupBy: 'model', from: new Date() });
for (const row of today.data) console.log(`cost today on ${row.key}: $${row.costUsd} (${row.totalTokens} tokens)`);

// Every failure is an AgentbaseError with the API's status and code.
try {
  await client.getTrace('0'.repeat(32));
} catch (e) {
  if (!(e instanceof AgentbaseError)) throw e;
  console.log(`an unknown trace: ${e.status} ${e.code}`);
}
