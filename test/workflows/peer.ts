import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentRunner, ToolRunner } from '../../src/workflows/index.js';

/**
 * A real HTTP peer on 127.0.0.1 that the workflow steps call, and the step
 * runners that call it. No vitest imports: the crash test's child process uses
 * the runners too.
 */

export interface PeerCall {
  kind: 'tool' | 'agent';
  /** the tool name or agent id */
  name: string;
  runId: string;
  stepKey: string;
  input: unknown;
}

/** What the peer answers: 200 with { output, isError?, status?, error? }, or another HTTP status (the runner throws). */
export interface PeerAnswer {
  status?: number;
  body?: { output?: unknown; isError?: boolean; status?: string; error?: string; details?: unknown };
}

export type PeerHandler = (call: PeerCall, n: number) => PeerAnswer | Promise<PeerAnswer>;

export interface Peer {
  url: string;
  calls: PeerCall[];
  /** calls so far per "<runId>/<stepKey>" */
  count(runId: string, stepKey: string): number;
  handler: PeerHandler;
  close(): Promise<void>;
}

/** By default, echoes: the output names the step and carries its input. */
export const echo: PeerHandler = (call) => ({ body: { output: { step: call.stepKey, input: call.input } } });

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
}

export async function startPeer(handler: PeerHandler = echo): Promise<Peer> {
  const counts = new Map<string, number>();
  const peer: Peer = {
    url: '',
    calls: [],
    count: (runId, stepKey) => counts.get(`${runId}/${stepKey}`) ?? 0,
    handler,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const m = /^\/(tool|agent)\/([^/]+)$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) {
        res.writeHead(404).end();
        return;
      }
      const b = (await body(req)) as { runId: string; stepKey: string; input: unknown };
      const call: PeerCall = { kind: m[1] as 'tool' | 'agent', name: decodeURIComponent(m[2]!), runId: b.runId, stepKey: b.stepKey, input: b.input };
      const k = `${call.runId}/${call.stepKey}`;
      const n = (counts.get(k) ?? 0) + 1;
      counts.set(k, n);
      peer.calls.push(call);
      const a = await peer.handler(call, n);
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(a.body ?? {}));
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return peer;
}

async function post(url: string, payload: unknown, signal: AbortSignal) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`the peer answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as NonNullable<PeerAnswer['body']>;
}

/** Step runners that do their work by calling the peer over HTTP. */
export function peerRunners(url: string): { runAgent: AgentRunner; runTool: ToolRunner } {
  return {
    runAgent: async (_orgId, req) => {
      const b = await post(`${url}/agent/${encodeURIComponent(req.agentId)}`, { runId: req.parentWorkflowRunId, stepKey: req.stepKey, input: req.input }, req.signal);
      return { executionId: null, status: b.status ?? 'completed', output: b.output ?? null, error: b.error ?? null };
    },
    runTool: async (_orgId, req) => {
      const b = await post(`${url}/tool/${encodeURIComponent(req.tool)}`, { runId: req.parentWorkflowRunId, stepKey: req.stepKey, input: req.args }, req.signal);
      return { output: b.output ?? null, isError: b.isError ?? false, details: b.details };
    },
  };
}
