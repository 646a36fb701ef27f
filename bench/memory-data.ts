/**
 * Deterministic synthetic text for the memory benchmarks: what an assistant
 * remembers of its users (preferences, plans, facts, tasks, small talk), made
 * from templates whose slots are drawn from word lists, plus a Zipf-distributed
 * tail of general vocabulary so full-text terms have realistic, skewed
 * frequencies rather than a few hundred words each in every row.
 */

/** mulberry32: a small, fast, seeded generator (same seed, same sequence on every machine). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const words = (s: string) => s.trim().split(/\s+/);

export const CITIES = words(`Lisbon Porto Madrid Barcelona Paris Lyon Berlin Munich Hamburg Vienna Prague Budapest Warsaw Krakow Rome Milan
  Naples Florence Venice Athens Istanbul Dublin London Edinburgh Manchester Amsterdam Rotterdam Brussels Copenhagen Oslo Stockholm
  Helsinki Reykjavik Zurich Geneva Tokyo Osaka Kyoto Seoul Busan Taipei Singapore Bangkok Hanoi Manila Jakarta Sydney Melbourne
  Auckland Toronto Montreal Vancouver Boston Chicago Denver Seattle Portland Austin Miami Atlanta Phoenix Nairobi Lagos Cairo
  Marrakesh Capetown Lima Bogota Santiago Quito Havana Mumbai Delhi Bangalore Chennai Dubai Doha`);
export const NAMES = words(`Priya Ana Maria Joao Lucas Sofia Emma Liam Noah Olivia Mateo Chen Wei Yuki Haruto Amara Kofi Zara Omar Lena
  Jonas Elif Mehmet Ines Diego Camila Hugo Chloe Arjun Meera Ravi Tomas Eva Nina Pavel Ivan Freya Erik Astrid Sven Leila Yusuf`);
export const RELATIONS = words('sister brother mother father wife husband partner daughter son friend colleague boss neighbour cousin aunt uncle');
export const THINGS = words(`window_seat aisle_seat hotel apartment hostel rental_car train_ticket ferry flight museum_pass concert_ticket
  restaurant table cooking_class wine_tour bike_tour guided_walk spa_day boat_trip ski_pass`).map((w) => w.replaceAll('_', ' '));
export const FOODS = words('sushi ramen tapas pizza pasta curry tacos dumplings pho falafel paella croissants oysters barbecue salad steak vegan vegetarian');
const ACTIVITIES = words('hiking surfing cycling swimming running climbing sailing diving skiing yoga painting photography birdwatching kayaking chess');
export const MONTHS = words('January February March April May June July August September October November December');
const ADJ = words('quiet cheap central modern cosy spacious sunny affordable luxurious historic lively remote family-friendly');
export const TASKS = words(`renew_the_passport book_the_vaccination pay_the_deposit confirm_the_hotel cancel_the_gym_membership
  buy_travel_insurance print_the_boarding_pass exchange_currency pack_the_hiking_boots call_the_bank`).map((w) => w.replaceAll('_', ' '));
// General vocabulary for the Zipf tail: the first words are the most frequent.
export const VOCAB = words(`time day week year people way thing place work trip plan home city room morning evening night weekend
  meeting call price budget ticket booking reservation schedule option review advice question answer issue change update detail
  note list idea reason problem result experience memory photo map route station airport terminal gate luggage bag passport visa
  card payment refund invoice receipt discount offer deal upgrade loyalty points account email message phone address contact
  weather rain snow heat wind temperature season holiday festival market beach mountain lake river park garden street square
  bridge tower church castle palace gallery theatre cinema library school office hospital pharmacy bakery cafe bar pub club
  breakfast lunch dinner snack coffee tea wine beer juice water dessert cake bread cheese fruit vegetable chicken fish rice
  soup sauce spice menu chef waiter tip bill table seat view balcony terrace pool gym sauna parking wifi noise light door key
  floor stairs elevator kitchen bathroom shower towel bed pillow blanket laundry cleaning checkout checkin arrival departure
  delay cancellation connection layover transfer taxi bus tram metro subway ferry cruise flight pilot crew cabin economy
  business first class legroom blanket headphones movie book magazine newspaper podcast music song concert band artist
  museum exhibition painting sculpture history architecture culture language translation guide tour group family kids
  children baby dog cat pet allergy medicine doctor insurance emergency safety police embassy consulate document copy
  printer charger adapter battery laptop tablet camera lens tripod drone backpack suitcase jacket shoes boots umbrella
  sunscreen hat glasses swimsuit towel souvenir gift present birthday anniversary wedding party celebration surprise dinner
  colleague client project deadline presentation conference workshop training course lesson exam certificate degree job
  interview salary contract lease rent mortgage loan savings investment pension tax return form application deposit`);
const FILLER = words('also really maybe probably definitely usually sometimes never always again still already just only even');

export function zipf(r: () => number, n: number): number {
  // Inverse-CDF sampling of a Zipf(1) over n ranks, approximately: rank ~ n^u.
  return Math.min(n - 1, Math.floor(Math.pow(n + 1, r()) - 1));
}

function tail(r: () => number, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(r() < 0.15 ? pick(r, FILLER) : VOCAB[zipf(r, VOCAB.length)]!);
  return out.join(' ');
}

const TEMPLATES: ((r: () => number) => string)[] = [
  (r) => `The user prefers a ${pick(r, ADJ)} ${pick(r, THINGS)} when travelling to ${pick(r, CITIES)}.`,
  (r) => `Booked a ${pick(r, THINGS)} in ${pick(r, CITIES)} for ${pick(r, MONTHS)}; the budget is around ${50 + Math.floor(r() * 950)} euros.`,
  (r) => `Their ${pick(r, RELATIONS)} ${pick(r, NAMES)} loves ${pick(r, FOODS)} and ${pick(r, ACTIVITIES)}.`,
  (r) => `Reminder: ${pick(r, TASKS)} before the trip to ${pick(r, CITIES)} on ${pick(r, MONTHS)} ${1 + Math.floor(r() * 28)}.`,
  (r) => `I suggested ${pick(r, ACTIVITIES)} near the ${pick(r, VOCAB.slice(60, 120))} in ${pick(r, CITIES)}; the user said it sounded ${pick(r, ADJ)}.`,
  (r) => `The user does not eat ${pick(r, FOODS)} and asked for ${pick(r, FOODS)} places in ${pick(r, CITIES)}.`,
  (r) => `${pick(r, NAMES)} asked whether the ${pick(r, THINGS)} can be changed to ${pick(r, MONTHS)}.`,
  (r) => `User said: ${tail(r, 6)}.`,
];

/** A memory's text: one template and a Zipf tail, 12–35 words. */
export function memoryText(r: () => number): string {
  return `${pick(r, TEMPLATES)(r)} ${tail(r, 4 + Math.floor(r() * 16))}`;
}

/** A search query as an agent would phrase it: a few content words, some from the templates' slots. */
export function queryText(r: () => number): string {
  const forms = [
    () => `what ${pick(r, THINGS)} does the user prefer in ${pick(r, CITIES)}`,
    () => `${pick(r, RELATIONS)} likes ${pick(r, FOODS)}`,
    () => `trip to ${pick(r, CITIES)} in ${pick(r, MONTHS)}`,
    () => `${pick(r, TASKS)} reminder`,
    () => `${pick(r, ACTIVITIES)} ${pick(r, ADJ)} ${VOCAB[zipf(r, VOCAB.length)]!}`,
    () => `budget for ${pick(r, THINGS)} ${VOCAB[zipf(r, VOCAB.length)]!}`,
  ];
  return pick(r, forms)();
}

const DOMAINS = words('travel billing support engineering sales legal hr security onboarding product marketing operations');

/**
 * The first knowledge corpus (BENCH_KNOWLEDGE_CORPUS=narrow): every word from
 * the ~450 words above and titles from ten task phrases, so most queries match
 * a large share of the items. bench/knowledge-data.ts has the realistic one.
 */
export function narrowKnowledgeItem(r: () => number): { domain: string; content: { title: string; description: string } } {
  const domain = pick(r, DOMAINS);
  const title = `${pick(r, ['How to', 'Policy:', 'Guide:', 'FAQ:', 'Checklist:'])} ${pick(r, TASKS)} ${pick(r, ['in', 'for', 'from'])} ${pick(r, CITIES)}`;
  return { domain, content: { title, description: `${pick(r, TEMPLATES)(r)} ${tail(r, 10 + Math.floor(r() * 30))}` } };
}

/** A knowledge search: websearch syntax (AND of the words), as a user types it. */
export function narrowKnowledgeQuery(r: () => number): string {
  const forms = [
    () => `${pick(r, TASKS).split(' ')[0]} ${pick(r, CITIES)}`,
    () => `${pick(r, TASKS)}`,
    () => `${VOCAB[zipf(r, 200)]!} ${VOCAB[zipf(r, VOCAB.length)]!}`,
    () => `${pick(r, CITIES)} ${pick(r, FOODS)}`,
  ];
  return pick(r, forms)();
}
