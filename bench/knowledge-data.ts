import { CITIES, FOODS, MONTHS, THINGS, VOCAB, pick, zipf } from './memory-data.js';

/**
 * Knowledge items for the benchmark: a corpus whose term statistics look like
 * a knowledge base of a million articles. Heaps' law puts the vocabulary of a
 * million short articles (~40M words) past 100,000 terms, and Zipf's law makes
 * the most frequent words the function words that to_tsvector drops as
 * stopwords, so a content word is in a few per cent of the items at most.
 *
 * The first corpus drew every word from ~450 travel words and titles from ten
 * task phrases: every content word was in 10–90 % of the items and nearly every
 * query matched tens of thousands of rows, which no real knowledge base looks
 * like. That corpus is kept (BENCH_KNOWLEDGE_CORPUS=narrow) for comparison.
 */

const words = (s: string) => s.trim().split(/\s+/);

/** The most frequent English words (all in PostgreSQL's english stopword list), most frequent first. */
const STOPWORDS = words(`the of and to a in is it you that he was for on are with as i his they be at one have this from or
  had by but some what there we can out other were all your when up use how said an each she which do their if will way about
  many then them would so these her him has more could go no did my than who its now over down only may been any our into`);

const SYLLABLES = words('ka lo mi ren tu sa vor pel din gra shu ne bo li tor fen zu qua mar ost bel cor dra ely fin gos hal');

/** The i-th generated term: a pronounceable nonce word, unique per i (base-27 digits over the syllables). */
function term(i: number): string {
  let n = i + SYLLABLES.length * SYLLABLES.length; // at least three syllables: no clash with real words
  let w = '';
  while (n > 0) {
    w += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  }
  return w;
}

const GENERATED_TERMS = 150_000;

/** Rank r of the corpus vocabulary: stopwords first, then the travel words, then generated terms. */
function word(rank: number): string {
  if (rank < STOPWORDS.length) return STOPWORDS[rank]!;
  rank -= STOPWORDS.length;
  if (rank < VOCAB.length) return VOCAB[rank]!;
  return term(rank - VOCAB.length);
}
const VOCABULARY = STOPWORDS.length + VOCAB.length + GENERATED_TERMS;

/** A content word (never a stopword) by Zipf rank: what a title or a query names. */
function contentWord(r: () => number): string {
  return word(STOPWORDS.length + zipf(r, VOCABULARY - STOPWORDS.length));
}

function prose(r: () => number, count: number): string {
  return Array.from({ length: count }, () => word(zipf(r, VOCABULARY))).join(' ');
}

const VERBS = words(`renew book pay confirm cancel buy print exchange pack call request reset update change transfer refund verify
  report register upgrade configure install migrate export import approve reject escalate schedule archive restore share
  review audit onboard offboard renew rotate invoice reconcile`);
const PREFIXES = ['How to', 'Policy:', 'Guide:', 'FAQ:', 'Checklist:', 'Runbook:', 'Troubleshooting:'];
const DOMAINS = words('travel billing support engineering sales legal hr security onboarding product marketing operations');

/** A knowledge item's content ({ title, description }) and domain. */
export function knowledgeItem(r: () => number): { domain: string; content: { title: string; description: string } } {
  const domain = pick(r, DOMAINS);
  const title = `${pick(r, PREFIXES)} ${pick(r, VERBS)} the ${contentWord(r)} ${contentWord(r)} ${pick(r, ['in', 'for', 'from'])} ${pick(r, CITIES)}`;
  const lead = r() < 0.3
    ? `Ask for ${pick(r, FOODS)} near the ${contentWord(r)} in ${pick(r, CITIES)}.`
    : `Applies to ${pick(r, THINGS)} and ${contentWord(r)} requests in ${pick(r, CITIES)} from ${pick(r, MONTHS)}.`;
  return { domain, content: { title, description: `${lead} ${prose(r, 20 + Math.floor(r() * 40))}` } };
}

/**
 * A knowledge search as people type one (websearch syntax: every word must
 * match): a task and a place, a task and its object, two topic words, a
 * place and a food, and one topic word alone (the broad kind: a common
 * content word is in a few per cent of the items).
 */
export function knowledgeQuery(r: () => number): string {
  const forms = [
    () => `${pick(r, VERBS)} ${pick(r, CITIES)}`,
    () => `${pick(r, VERBS)} ${contentWord(r)}`,
    () => `${contentWord(r)} ${contentWord(r)}`,
    () => `${pick(r, CITIES)} ${pick(r, FOODS)}`,
    () => contentWord(r),
  ];
  return pick(r, forms)();
}
