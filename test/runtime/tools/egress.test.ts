import { describe, expect, it } from 'vitest';
import { addressCategory, EgressRefusedError, pinnedLookup, resolveEgress } from '../../../src/runtime/index.js';
import { egressRequest, EgressRequestError } from '../../../src/runtime/index.js';
import { startPeer } from './peer.js';

describe('address categories', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.10.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT (shared)'],
    ['100.100.100.200', 'cloud metadata'],
    ['0.0.0.0', '"this network"'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['::ffff:169.254.169.254', 'IPv4-mapped cloud metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['64:ff9b::192.168.0.1', 'NAT64 private'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['2002:7f00:1::', '6to4 loopback'],
    ['not-an-ip', 'not an IP address'],
  ])('%s is %s', (ip, category) => {
    expect(addressCategory(ip)).toBe(category);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1'])(
    '%s is public',
    (ip) => {
      expect(addressCategory(ip)).toBeNull();
    },
  );
});

describe('resolveEgress', () => {
  const strict = { allowPrivate: false };
  const open = { allowPrivate: true };
  const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as EgressRefusedError);

  it('refuses schemes other than http and https', async () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'gopher://example.com']) {
      const err = await refusal(resolveEgress(new URL(url), open));
      expect(err).toBeInstanceOf(EgressRefusedError);
      expect(err).toMatchObject({ reason: 'scheme' });
    }
  });

  it('refuses private literals and names that resolve to them, unless allowed', async () => {
    for (const url of ['http://127.0.0.1:1/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0x7f.1/', 'http://2130706433/', 'http://localhost/']) {
      const err = await refusal(resolveEgress(new URL(url), strict));
      expect(err, url).toMatchObject({ reason: 'private', category: expect.stringContaining('loopback') });
      expect((await resolveEgress(new URL(url), open)).length, url).toBeGreaterThan(0);
    }
  });

  it('refuses a host that does not resolve', async () => {
    expect(await refusal(resolveEgress(new URL('http://nothing.invalid/'), open))).toMatchObject({ reason: 'unresolvable' });
  });

  it('lets a public literal through without a lookup', async () => {
    expect(await resolveEgress(new URL('https://8.8.8.8/'), strict)).toEqual([{ address: '8.8.8.8', family: 4 }]);
  });
});

describe('pinned connections', () => {
  it('answers every lookup with the checked addresses, whatever the name', () => {
    const lookup = pinnedLookup([{ address: '127.0.0.1', family: 4 }]);
    const answers: unknown[] = [];
    lookup('anything.example.com', { all: true }, (err, address) => answers.push([err, address]));
    lookup('anything.example.com', {}, (err, address, family) => answers.push([err, address, family]));
    lookup('anything.example.com', { family: 6 }, (err) => answers.push((err as NodeJS.ErrnoException).code));
    expect(answers).toEqual([[null, [{ address: '127.0.0.1', family: 4 }]], [null, '127.0.0.1', 4], 'ENOTFOUND']);
  });

  it('egressRequest connects to the checked address and refuses what the policy refuses', async () => {
    const peer = await startPeer();
    try {
      const res = await egressRequest({ url: new URL(`${peer.base}/text`), method: 'GET', headers: {}, timeoutMs: 5000, maxBytes: 100, policy: { allowPrivate: true } });
      expect(res).toMatchObject({ status: 200, truncated: false, address: '127.0.0.1' });
      expect(res.body.toString()).toBe('plain words');
      const err = await egressRequest({ url: new URL(`${peer.base}/text`), method: 'GET', headers: {}, timeoutMs: 5000, maxBytes: 100, policy: { allowPrivate: false } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EgressRequestError);
      expect(err).toMatchObject({ kind: 'refused' });
      expect(peer.received.map((r) => r.url)).toEqual(['/text']);
    } finally {
      await peer.close();
    }
  });
});
