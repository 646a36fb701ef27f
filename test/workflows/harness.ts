import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { joinAs } from '../agents/fixtures.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, engine, ok, storedTool, type Auth, type Body } from './fixtures.js';
import { echo, peerRunners, startPeer, type Peer, type PeerHandler } from './peer.js';

/**
 * One test file's engine: an app on a fresh database, an owner (a) with a
 * member and a viewer, a loopback peer the steps call, and a Worker running
 * the workflow handlers. The peer answers per tool name (or agent id), so each
 * test uses its own tools (tools()) and sets how they answer (routes).
 */
export interface Harness {
  t: TestApp;
  a: SignedUp;
  member: { userId: string; auth: Auth };
  viewer: { userId: string; auth: Auth };
  peer: Peer;
  worker: Worker;
  routes: Map<string, PeerHandler>;
  /** stored tools with fresh names made from these */
  tools(...names: string[]): Promise<string[]>;
  /** a handler that holds its answer until released */
  held(answer?: PeerHandler): { handler: PeerHandler; release: () => void; reached: () => boolean };
  notifications(auth: Auth, qs?: string): Promise<Body[]>;
}

export function useEngine(): Harness {
  const errors: unknown[] = [];
  const releases: Array<() => void> = [];
  let n = 0;
  const h = {
    routes: new Map<string, PeerHandler>(),
    async tools(...names: string[]) {
      const out = names.map((x) => `${x}_${++n}`);
      for (const name of out) await storedTool(h.t, h.a.auth, name);
      return out;
    },
    held(answer: PeerHandler = echo) {
      let release!: () => void;
      let reached = false;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      releases.push(release);
      const handler: PeerHandler = async (call, k) => {
        reached = true;
        await gate;
        return answer(call, k);
      };
      return { handler, release, reached: () => reached };
    },
    async notifications(auth: Auth, qs = '') {
      return ok(await client(h.t).get(`/v1/notifications${qs}`, auth)).data as Body[];
    },
  } as Harness;

  beforeAll(async () => {
    h.t = await createTestApp();
    h.a = await signupUser(h.t.app);
    h.member = await joinAs(h.t, h.a, 'member');
    h.viewer = await joinAs(h.t, h.a, 'viewer');
    h.peer = await startPeer((call, k) => (h.routes.get(call.name) ?? echo)(call, k));
    h.worker = engine(h.t.db, peerRunners(h.peer.url), errors);
  });
  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    for (const r of releases) r();
    await h.worker?.stop({ timeoutMs: 2000 });
    await h.peer?.close();
    await h.t?.close();
  });
  return h;
}
