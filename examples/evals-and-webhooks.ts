// examples/evals-and-webhooks.ts — test an agent version before it goes live, and hear
// about it by webhook: a receiver on loopback checks each delivery's Standard Webhooks
// signature; an eval suite of three cases runs on a new version (two pass, one fails);
// eval.run.completed arrives signed; the eval gate refuses to promote the version until
// it is forced with a reason.
// Needs a server started with AGENTBASE_WEBHOOKS_ALLOW_PRIVATE=true (the receiver is on
// 127.0.0.1, which the server otherwise refuses to call) and, offline, with
// AGENTBASE_SCRIPTS_DIR=examples/scripts.
// Environment:
//   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
//   AGENTBASE_API_KEY  a key with agents:*, evals:* and webhooks:* (examples/quickstart.sh prints one)
// Run: npx tsx examples/evals-and-webhooks.ts
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { api, call, ensureAgent, type Json } from './lib/http.js';

// What a receiver does with each delivery: check the signature over `id.timestamp.body`
// with the endpoint's secret, refuse stale timestamps (replays), then trust the JSON.
function verified(secret: string, h: IncomingHttpHeaders, body: string): boolean {
  const id = String(h['webhook-id']), ts = String(h['webhook-timestamp']);
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const want = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return String(h['webhook-signature']).split(' ').some((s) => {
    const got = Buffer.from(s.slice(3), 'base64');
    return s.startsWith('v1,') && got.length === want.length && timingSafeEqual(got, want);
  });
}

let secret = '';
const events: Json[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (!verified(secret, req.headers, body)) return void res.writeHead(401).end();
    events.push(JSON.parse(body));
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/agentbase`;

async function eventually<T>(what: string, f: () => T | undefined): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

// 1. The endpoint: its secret is shown this once.
const hook = await api('POST', '/v1/webhooks', { url: hookUrl, events: ['eval.*', 'agent.version.created'] });
secret = hook.secret;
console.log(`webhook ${hook.id}: ${hook.events.join(', ')}, secret ${secret.slice(0, 6)}…`);

// 2. A support agent (its replay answers by rule), and a new version of it to test.
const agentId = await ensureAgent('support-bot', 'support-bot', { systemPrompt: 'Answer order questions in one sentence.' });
const agent = await api('GET', `/v1/agents/${agentId}`);
// makeCurrent: false — a candidate runs only when named, until it is promoted through the gate.
const [major, minor, patch] = (await api('GET', `/v1/agents/${agentId}/versions?limit=1`)).data[0].version.split('.').map(Number);
const next = await api('POST', `/v1/agents/${agentId}/versions`, { version: `${major}.${minor}.${patch + 1}`, changelog: 'shorter answers', makeCurrent: false });
await eventually('agent.version.created', () => events.find((e) => e.type === 'agent.version.created' && e.data.version === next.version));
console.log(`agent support-bot: current ${agent.currentVersion}, candidate ${next.version}`);

// 3. A suite that gates promotion: every case must pass (threshold 1).
const suite = await api('POST', '/v1/eval-suites', { agentId, name: `orders ${Date.now()}`, passThreshold: 1, gate: 'required' });
const cases = [
  { name: 'shipping day', input: 'When does order 12345 ship?', scorer: { type: 'contains', values: ['Monday'] } },
  { name: 'order number', input: 'Which order is this about? 12345', scorer: { type: 'regex', pattern: 'order #\\d{5}', flags: 'i' } },
  { name: 'refund time', input: 'How long does a refund take?', expectedOutput: 'Refunds take 3 days.', scorer: { type: 'exact' } },
];
for (const c of cases) await api('POST', `/v1/eval-suites/${suite.id}/cases`, c);

// 4. Run it on the candidate; the job worker runs the cases; the webhook says when it is done.
const run = await api('POST', `/v1/eval-suites/${suite.id}/runs`, { version: next.version });
const done = await eventually('eval.run.completed', () => events.find((e) => e.type === 'eval.run.completed' && e.data.evalRunId === run.id));
console.log(`eval.run.completed (signature verified): ${done.data.status}, ${done.data.passedTests} passed, ${done.data.failedTests} failed`);
const detail = await api('GET', `/v1/eval-runs/${run.id}`);
for (const r of detail.results) console.log(`  ${r.status.padEnd(6)} ${r.caseName}: ${r.feedback}`);

// 5. The gate: promotion is refused on 2 of 3, then forced with a reason (audited).
const refused = await call('POST', `/v1/agents/${agentId}/versions/${next.version}/promote`, {});
console.log(`promote ${next.version}: ${refused.status} ${refused.body.error.code}`);
const forced = await api('POST', `/v1/agents/${agentId}/versions/${next.version}/promote`, { force: true, reason: 'refund copy is fixed in the next version' });
console.log(`forced: current version ${forced.agent.currentVersion}, forced ${forced.forced}`);

await api('DELETE', `/v1/webhooks/${hook.id}`);
receiver.close();
