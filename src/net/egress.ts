import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Where the server may send requests on a tenant's behalf (http tools, model
 * endpoints, webhook deliveries). A
 * tool URL is the tenant's to write, so without a policy it is a way into the
 * service's own network: the database, the cloud metadata endpoint, admin
 * ports on loopback (SSRF). By default only public unicast addresses are
 * reachable; RuntimeConfig.egressAllowPrivate (AGENTBASE_EGRESS_ALLOW_PRIVATE)
 * lifts that for deployments whose tools call internal services.
 *
 * Checking a host name is not enough: it is the address that matters, and a
 * name can resolve to a public address when checked and to 127.0.0.1 when the
 * request connects (DNS rebinding). So the host is resolved once, every
 * address is checked, and the connection is pinned to the checked addresses
 * through the `lookup` option of node:http(s) (pinnedLookup). That option,
 * not an undici Agent with `connect.lookup`, because Node 20 ships undici only
 * inside fetch: the `undici` package is not a dependency, and node:http gives
 * the same pinning with TLS still verified against the host name (SNI and the
 * certificate check use the URL's host, not the address).
 */

export interface EgressPolicy {
  /** reach loopback, private, link-local … addresses too (RuntimeConfig.egressAllowPrivate) */
  allowPrivate: boolean;
  /** who is refused and the setting that lifts it, for the message; default the runtime's tools and AGENTBASE_EGRESS_ALLOW_PRIVATE */
  refusal?: { who: string; setting: string };
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type EgressRefusal = 'scheme' | 'private' | 'unresolvable';

export class EgressRefusedError extends Error {
  override name = 'EgressRefusedError';
  constructor(
    message: string,
    readonly reason: EgressRefusal,
    /** the refused address and what kind it is, for reason 'private' */
    readonly address?: string,
    readonly category?: string,
    /** the resolver's error code, for reason 'unresolvable' (ENOTFOUND, EAI_AGAIN …) */
    readonly code?: string,
  ) {
    super(message);
  }

  /** A lookup that failed for a passing reason (no answer from the resolver in time): trying again later may work. */
  get transient(): boolean {
    return this.reason === 'unresolvable' && this.code !== undefined && TRANSIENT_LOOKUP_CODES.has(this.code);
  }
}

/** getaddrinfo's "try again" and the resolver's timeouts and server failures; ENOTFOUND and the rest are answers. */
const TRANSIENT_LOOKUP_CODES = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ETIMEDOUT', 'ESERVFAIL', 'ECONNREFUSED']);

type Range = readonly [prefix: string, bits: number, category: string];

// Exact cloud metadata addresses first, for a message that says what was at stake.
const V4_RANGES: readonly Range[] = [
  ['169.254.169.254', 32, 'cloud metadata'],
  ['100.100.100.200', 32, 'cloud metadata'], // Alibaba Cloud
  ['192.0.0.192', 32, 'cloud metadata'], // Oracle Cloud
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT (shared)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignment'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // with 255.255.255.255, broadcast
];

const V6_RANGES: readonly Range[] = [
  ['fd00:ec2::254', 128, 'cloud metadata'], // AWS over IPv6
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'local-use NAT64'],
  ['100::', 64, 'discard-only'],
  ['2001::', 32, 'Teredo'], // tunnels to an IPv4 address that cannot be checked here
  ['2001:2::', 48, 'benchmarking'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

// IPv6 forms that carry an IPv4 address: the IPv4 address decides.
const EMBEDDED_V4: readonly (readonly [prefix: string, bits: number, offset: number, label: string])[] = [
  ['::ffff:0:0', 96, 12, 'IPv4-mapped'],
  ['::ffff:0:0:0', 96, 12, 'IPv4-translated'],
  ['64:ff9b::', 96, 12, 'NAT64'],
  ['::', 96, 12, 'IPv4-compatible'],
  ['2002::', 16, 2, '6to4'],
];

function v4Bytes(ip: string): number[] | null {
  if (isIP(ip) !== 4) return null;
  return ip.split('.').map(Number);
}

function v6Bytes(ip: string): number[] | null {
  let s = ip.split('%')[0]!; // a zone id (fe80::1%eth0) is not part of the address
  if (isIP(s) !== 6) return null;
  const dotted = s.lastIndexOf(':');
  const tail = s.slice(dotted + 1);
  if (tail.includes('.')) {
    const b = v4Bytes(tail)!;
    s = `${s.slice(0, dotted + 1)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const groups = (x: string) => (x === '' ? [] : x.split(':'));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  return all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function inRange(bytes: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[i / 8]! & mask) !== (prefix[i / 8]! & mask)) return false;
  }
  return true;
}

const parsedV4 = V4_RANGES.map(([p, bits, cat]) => [v4Bytes(p)!, bits, cat] as const);
const parsedV6 = V6_RANGES.map(([p, bits, cat]) => [v6Bytes(p)!, bits, cat] as const);
const parsedEmbedded = EMBEDDED_V4.map(([p, bits, offset, label]) => [v6Bytes(p)!, bits, offset, label] as const);

/**
 * What kind of non-public address ip is ("loopback", "private", "cloud
 * metadata", "IPv4-mapped loopback" …), or null for a public address. Anything
 * that is not an IP address is refused as "not an IP address".
 */
export function addressCategory(ip: string): string | null {
  const v4 = v4Bytes(ip);
  if (v4) return parsedV4.find(([p, bits]) => inRange(v4, p, bits))?.[2] ?? null;
  const v6 = v6Bytes(ip);
  if (!v6) return 'not an IP address';
  // :: and ::1 fall inside ::/96 (IPv4-compatible); they are themselves, not 0.0.0.0 and 0.0.0.1.
  const own = parsedV6.find(([p, bits]) => inRange(v6, p, bits));
  if (own && own[1] === 128) return own[2];
  for (const [p, bits, offset, label] of parsedEmbedded) {
    if (!inRange(v6, p, bits)) continue;
    const inner = addressCategory(v6.slice(offset, offset + 4).join('.'));
    return inner ? `${label} ${inner}` : null;
  }
  return own?.[2] ?? null;
}

/**
 * The addresses a request to url may connect to: every address the host
 * resolves to, each one checked. One bad address refuses the host, since the
 * connection could use any of them.
 */
export async function resolveEgress(url: URL, policy: EgressPolicy): Promise<ResolvedAddress[]> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EgressRefusedError(`only http and https URLs can be requested, not ${url.protocol}`, 'scheme');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: ResolvedAddress[];
  const literal = isIP(host);
  if (literal) {
    addresses = [{ address: host, family: literal as 4 | 6 }];
  } else {
    try {
      const found = await lookup(host, { all: true, verbatim: true });
      addresses = found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new EgressRefusedError(`the host ${host} could not be resolved (${code ?? 'lookup failed'})`, 'unresolvable', undefined, undefined, code);
    }
    if (addresses.length === 0) throw new EgressRefusedError(`the host ${host} has no addresses`, 'unresolvable');
  }
  if (!policy.allowPrivate) {
    for (const a of addresses) {
      const category = addressCategory(a.address);
      if (!category) continue;
      const via = literal ? '' : ` resolves to ${a.address}, which`;
      throw new EgressRefusedError(
        `the host ${host}${via} is a ${category} address; ${policy.refusal?.who ?? 'tools'} may only reach public addresses unless the server sets ${policy.refusal?.setting ?? 'AGENTBASE_EGRESS_ALLOW_PRIVATE'}=true`,
        'private',
        a.address,
        category,
      );
    }
  }
  return addresses;
}

/**
 * A `lookup` for node:http(s) and node:net that answers with the addresses
 * already checked, so the socket connects to one of them and nothing else.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const want = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const pool = want ? addresses.filter((a) => a.family === want) : [...addresses];
    const done = callback as (err: NodeJS.ErrnoException | null, address: string | ResolvedAddress[], family?: number) => void;
    if (pool.length === 0) {
      done(Object.assign(new Error(`no IPv${want} address was checked for this host`), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all) {
      done(null, pool);
    } else {
      done(null, pool[0]!.address, pool[0]!.family);
    }
  };
}
