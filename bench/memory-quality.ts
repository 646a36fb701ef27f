import { cpus, loadavg } from 'node:os';
import { parseConfig } from '../src/config/index.js';
import { saveMemories, searchAgent, type MemoryInput, type SearchMode } from '../src/memory/index.js';
import { createService } from '../src/server.js';
import { benchDatabase, envNumber } from './bench-db.js';
import { benchOrg } from './bench-org.js';
import { CITIES, NAMES, pick, rng } from './memory-data.js';

/**
 * Retrieval quality (issue 12): can an agent find what a user told it, asked
 * in other words? A deterministic synthetic test set (seeded RNG): several
 * users, each with several conversation sessions of user and assistant turns
 * over the past months; into them are planted facts (a sister's name, a move
 * to another city, an allergy, a task…) among distractor turns, some of them
 * hard (the same topic about someone else, or an older, since-changed fact).
 * Every turn is saved as a conversation memory of one agent through
 * saveMemories (batches), tagged with its user; each question is a paraphrase
 * sharing few words with its fact, searched with the user's tag as filter.
 * hit@k: the planted turn is among the first k results.
 *
 * Run once with the bundled model and once with the hashed test embedder (a
 * reference: it knows words and word pieces, not meaning), each its own agent.
 * The set was written before looking at any result and the product is not
 * tuned to it; a public benchmark is to be run independently.
 *
 * Environment (defaults in brackets):
 *   BENCH_QUALITY_USERS      users [12]
 *   BENCH_QUALITY_SESSIONS   sessions per user [6]
 *   BENCH_QUALITY_TURNS      distractor turns per session [24]
 *   BENCH_QUALITY_SEED       RNG seed [2026]
 *   BENCH_QUALITY_EMBEDDERS  comma list of bundled,hashed [bundled,hashed]
 */

interface Fact {
  /** the planted turn */
  say: string;
  /** paraphrased questions; one is asked */
  ask: string[];
  /** turns that look related but do not answer (said in other sessions) */
  near: string[];
  /** an older statement the fact replaced, said in an earlier session */
  before?: string;
}

type R = () => number;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const FOODS = ['peanuts', 'shellfish', 'gluten', 'lactose', 'eggs', 'soy'];
const CUISINES = ['Thai', 'Ethiopian', 'Mexican', 'Japanese', 'Lebanese', 'Georgian', 'Peruvian', 'Korean'];
const JOBS = ['nurse', 'civil engineer', 'accountant', 'primary school teacher', 'software developer', 'architect', 'pharmacist'];
const PETS = ['Biscuit', 'Mochi', 'Pepper', 'Luna', 'Rocky', 'Ziggy', 'Olive'];
const LANGS = ['Portuguese', 'Japanese', 'German', 'Italian', 'Arabic', 'Mandarin', 'Greek'];
const INSTRUMENTS = ['cello', 'bass guitar', 'drums', 'saxophone', 'violin', 'trumpet'];
const CARS = ['a red Toyota Corolla', 'a blue Volkswagen Golf', 'an old grey Volvo estate', 'a white Tesla Model 3', 'a green Fiat Panda'];

const FACTS: ((r: R) => Fact)[] = [
  (r) => {
    const n = pick(r, NAMES);
    return {
      say: pick(r, [`By the way, my sister's name is ${n}.`, `My sister ${n} is visiting us next month.`]),
      ask: ['What is my sister called?', 'Who is my sibling?'],
      near: [`My friend's sister is getting married in June.`, `${pick(r, NAMES)} from work has two sisters.`],
    };
  },
  (r) => {
    const [oldCity, city] = [pick(r, CITIES), pick(r, CITIES)];
    return {
      say: `I moved to ${city} in ${pick(r, MONTHS)}, still unpacking boxes.`,
      before: `I've been living in ${oldCity} for five years now.`,
      ask: ['What city do I live in now?', 'Where is my current home?'],
      near: [`My colleague is relocating to ${pick(r, CITIES)} next year.`],
    };
  },
  (r) => ({
    say: `I'm allergic to ${pick(r, FOODS)}, so I have to be careful when eating out.`,
    ask: ['Which foods should I avoid for health reasons?', 'Do I have any dietary restrictions because of a reaction?'],
    near: ['My cousin cannot stand spicy food at all.'],
  }),
  (r) => ({
    say: `${pick(r, CUISINES)} is my favourite cuisine, I could eat it every day.`,
    ask: ['What kind of food do I like most?', 'Suggest a restaurant type I would enjoy.'],
    near: ['We had pizza at the office party yesterday, it was fine.'],
  }),
  (r) => ({
    say: `I need to renew my passport before ${pick(r, MONTHS)}.`,
    ask: ['What travel document do I have to take care of soon?', 'Is there any paperwork I must sort out?'],
    near: ['My brother lost his driving licence last week.'],
  }),
  (r) => ({
    say: `I work as a ${pick(r, JOBS)} at a place near the river.`,
    ask: ["What's my profession?", 'What do I do for a living?'],
    near: ['My neighbour just got promoted at the bank.'],
  }),
  (r) => {
    const p = pick(r, PETS);
    return {
      say: pick(r, [`Our dog ${p} chewed my headphones again.`, `My dog is called ${p}, he's a beagle.`]),
      ask: ["What's the name of my pet?", 'What is my puppy called?'],
      near: ['The neighbours got a cat last week, it keeps coming into our garden.'],
    };
  },
  (r) => ({
    say: `I started learning ${pick(r, LANGS)} last winter, two lessons a week.`,
    ask: ['Which language am I studying?', 'What foreign language classes am I taking?'],
    near: ['My son is struggling with his French homework.'],
  }),
  (r) => ({
    say: `My daughter's birthday is on ${pick(r, MONTHS)} ${1 + Math.floor(r() * 28)}, she'll be seven.`,
    ask: ["When is my kid's birthday?", 'What date does my child turn a year older?'],
    near: [`My mother's anniversary party was lovely.`],
  }),
  (r) => ({
    say: `I drive ${pick(r, CARS)}, it needs new tyres.`,
    ask: ['What car do I own?', 'What vehicle do I have?'],
    near: ['My partner wants to buy an electric scooter.'],
  }),
  () => ({
    say: 'I always take the aisle seat on flights, I hate climbing over people.',
    ask: ['Where do I like to sit on a plane?', 'Any seating preference when I fly?'],
    near: ['The train to the coast was packed this morning.'],
  }),
  (r) => ({
    say: `My dentist appointment is on ${pick(r, ['Tuesday', 'Thursday', 'Friday'])} at ${2 + Math.floor(r() * 4)}pm.`,
    ask: ['When am I seeing the doctor for my teeth?', 'When is my dental check-up?'],
    near: ['My wife has a check-up with her GP next week.'],
  }),
  () => ({
    say: "I've been vegetarian since 2019.",
    ask: ['Do I eat meat?', 'Can you recommend a steak house for me?'],
    near: ['My father loves barbecue every weekend.'],
  }),
  (r) => ({
    say: `I play ${pick(r, INSTRUMENTS)} in a band on weekends.`,
    ask: ['What musical instrument do I play?', 'What do I do with my band?'],
    near: ['We went to a jazz concert on Saturday.'],
  }),
  (r) => ({
    say: `I'm training for the ${pick(r, CITIES)} marathon in the autumn.`,
    ask: ['What race am I preparing for?', 'What sports event am I getting ready for?'],
    near: ['My friend hurt her knee playing football.'],
  }),
  (r) => ({
    say: `We're saving up to buy a flat in ${pick(r, CITIES)}.`,
    ask: ['What are we saving money for?', 'What big purchase are we planning?'],
    near: ['The rent went up again this year.'],
  }),
  (r) => {
    const n = pick(r, NAMES);
    return {
      say: `My manager ${n} wants the quarterly report by Friday.`,
      ask: ['Who is my boss?', 'Who do I report to at work?'],
      near: [`${pick(r, NAMES)} from accounting sent me a long email.`],
    };
  },
  () => ({
    say: "I can't stand horror movies, they give me nightmares.",
    ask: ['What film genre do I dislike?', 'What kind of movies should you not recommend to me?'],
    near: ['We watched a comedy on Friday, it was silly but fun.'],
  }),
];

const CHATTER = [
  'Can you recommend a good book for the weekend?', 'What is the weather like tomorrow?', 'Thanks, that was helpful.',
  'Remind me to call the plumber.', 'How long does it take to boil an egg?', 'Summarize this article for me please.',
  'I had a long day at work today.', 'Can you help me write an email to the landlord?', 'What time is it in New York?',
  'Let us plan the grocery list for the week.', 'I think I will go for a walk later.', 'Tell me a joke.',
  'How do I convert miles to kilometres?', 'The traffic was terrible this morning.', 'Which phone plan is cheaper?',
  'I need a recipe for a quick dinner.', 'My laptop is running slow again.', 'What should I watch tonight?',
  'Can you explain how compound interest works?', 'I forgot my umbrella at the cafe.', 'Set a timer for twenty minutes.',
  'Is it worth upgrading to the new phone?', 'The meeting got moved to next week.', 'Help me draft a birthday message for a friend.',
];
const REPLIES = [
  'Sure, here are a few options you might like.', 'Of course. Let me know if you need anything else.', 'Noted.',
  'Here is a short summary of the main points.', 'That sounds like a plan.', 'I have added that to your list.',
  'Good question: it depends on a few things.', 'Happy to help with that.', 'Got it, I will keep that in mind.',
];

interface Turn extends MemoryInput { factKey?: string }
interface Question { user: number; key: string; text: string; kind: 'single' | 'update' }

/** The whole set, from the seed: turns in saving order, and one question per planted fact. */
export function qualitySet(o: { users: number; sessions: number; turns: number; seed: number }): { turns: Turn[]; questions: Question[] } {
  const r = rng(o.seed);
  const now = Date.now();
  const turns: Turn[] = [];
  const questions: Question[] = [];
  for (let u = 0; u < o.users; u++) {
    // Each user gets about two thirds of the fact kinds, in random order.
    const kinds = FACTS.map((f, i) => ({ f, i, k: r() })).filter(() => r() < 0.67).sort((a, b) => a.k - b.k);
    const sessions: Turn[][] = Array.from({ length: o.sessions }, () => []);
    const place = (s: number, t: Turn) => {
      const list = sessions[s]!;
      list.splice(Math.floor(r() * (list.length + 1)), 0, t);
    };
    for (let s = 0; s < o.sessions; s++) {
      for (let t = 0; t < o.turns; t++) place(s, { content: t % 2 ? pick(r, REPLIES) : pick(r, CHATTER), metadata: { role: t % 2 ? 'assistant' : 'user' } });
    }
    for (const { f, i } of kinds) {
      const fact = f(r);
      const key = `u${u}-f${i}`;
      // An update: the old statement early, the new one in a later session.
      const s = fact.before ? 1 + Math.floor(r() * (o.sessions - 1)) : Math.floor(r() * o.sessions);
      if (fact.before) place(Math.floor(r() * s), { content: fact.before, metadata: { role: 'user' } });
      place(s, { content: fact.say, metadata: { role: 'user' }, factKey: key });
      for (const n of fact.near) place(Math.floor(r() * o.sessions), { content: n, metadata: { role: 'user' } });
      questions.push({ user: u, key, text: pick(r, fact.ask), kind: fact.before ? 'update' : 'single' });
    }
    // Sessions a few days apart over the past months, turns a minute apart.
    sessions.forEach((list, s) => {
      const start = now - (o.sessions - s) * 9 * 86_400_000;
      list.forEach((t, k) => {
        t.occurredAt = new Date(start + k * 60_000).toISOString();
        t.tags = [`user:${u}`];
        turns.push(t);
      });
    });
  }
  return { turns, questions };
}

export async function memoryQualityBench(): Promise<string> {
  const o = {
    users: Math.max(1, envNumber('BENCH_QUALITY_USERS', 12)),
    sessions: Math.max(2, envNumber('BENCH_QUALITY_SESSIONS', 6)),
    turns: envNumber('BENCH_QUALITY_TURNS', 24),
    seed: envNumber('BENCH_QUALITY_SEED', 2026),
    embedders: (process.env.BENCH_QUALITY_EMBEDDERS || 'bundled,hashed').split(',').map((s) => s.trim()).filter(Boolean),
  };
  const log = (s: string) => process.stderr.write(`[memory-quality] ${new Date().toISOString().slice(11, 19)} ${s}\n`);
  const loadBefore = loadavg()[0]!;
  const b = await benchDatabase({ log });
  let close = async () => {};
  try {
    const config = parseConfig({ DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: 'silent' });
    const svc = await createService(config, b.db, false);
    close = () => svc.close();
    const m = svc.memory;
    if (!m.vectors) throw new Error('this PostgreSQL has no pgvector: the quality bench needs it');
    const org = await benchOrg(svc.app, b.db, { name: 'Memory Quality', agents: o.embedders.length });
    const actor = { orgId: org.orgId, actorType: 'user' as const, userId: org.userId };
    const { turns, questions } = qualitySet(o);
    log(`${turns.length} turns, ${questions.length} questions (${questions.filter((q) => q.kind === 'update').length} about an updated fact)`);

    const rows: string[] = [];
    for (const [a, embedder] of o.embedders.entries()) {
      if (embedder !== 'bundled' && embedder !== 'hashed') throw new Error(`BENCH_QUALITY_EMBEDDERS: bundled or hashed, not ${embedder}`);
      const agentId = org.agentIds[a]!;
      const put = await svc.app.inject({
        method: 'PUT', url: `/v1/agents/${agentId}/memory/config`, headers: { authorization: org.authorization }, payload: { embedder },
      });
      if (put.statusCode !== 200) throw new Error(`memory config: ${put.statusCode} ${put.body}`);
      const t0 = performance.now();
      const planted = new Map<string, string>();
      for (let i = 0; i < turns.length; i += 100) {
        const batch = turns.slice(i, i + 100);
        const saved = await saveMemories(m, actor, agentId, batch.map(({ factKey: _k, ...t }) => t));
        batch.forEach((t, k) => t.factKey && planted.set(t.factKey, saved[k]!.id));
      }
      log(`${embedder}: ${turns.length} turns saved in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (const mode of ['text', 'vector', 'hybrid'] as SearchMode[]) {
        const hit = { 5: 0, 10: 0 };
        const byKind = { single: { n: 0, h10: 0 }, update: { n: 0, h10: 0 } };
        for (const q of questions) {
          const r = await searchAgent(m, org.orgId, agentId, { query: q.text, limit: 10, mode, tags: [`user:${q.user}`] });
          const at = r.items.findIndex((x) => x.id === planted.get(q.key));
          if (at >= 0 && at < 5) hit[5]++;
          if (at >= 0) hit[10]++;
          byKind[q.kind].n++;
          if (at >= 0) byKind[q.kind].h10++;
        }
        const pct = (x: number, n: number) => (n ? `${((100 * x) / n).toFixed(1)} %` : '–');
        rows.push(`| ${embedder === 'bundled' ? 'bundled USE-lite 512-d' : 'hashed-ngram-256 (reference)'} | ${mode} | ${pct(hit[5], questions.length)} | `
          + `${pct(hit[10], questions.length)} | ${pct(byKind.update.h10, byKind.update.n)} |`);
        log(`${embedder} ${mode}: hit@5 ${hit[5]}/${questions.length}, hit@10 ${hit[10]}`);
      }
    }
    return [
      `### Memory retrieval quality (synthetic conversations, seed ${o.seed}; ${cpus().length} cores)`,
      '',
      `1-minute load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
      '',
      `${o.users} users × ${o.sessions} sessions × ${o.turns} distractor turns, ${questions.length} planted facts among ${turns.length} turns`,
      '(hard distractors included: the same topic about someone else, and for updated facts the older statement);',
      'every turn saved as a conversation memory of one agent per embedder (saveMemories, batches of 100), tagged with its user.',
      `Each fact asked once in other words (searchAgent, limit 10, filtered by the user's tag). hit@k: the planted turn in the first k.`,
      '',
      '| embedder | mode | hit@5 | hit@10 | hit@10, updated facts |',
      '| --- | --- | ---: | ---: | ---: |',
      ...rows,
    ].join('\n');
  } finally {
    await close().catch((err: unknown) => log(`closing the service: ${String(err)}`));
    await b.finish();
  }
}
