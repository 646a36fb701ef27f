import { z } from 'zod';

/**
 * Where a secret may be sent. Without this list, anyone who may edit a tool or
 * an agent could point a header or a model endpoint at a host of their own
 * and have the server deliver any stored value there.
 *
 * An entry is an exact host name (api.github.com, 127.0.0.1, [::1]) or a
 * wildcard *.example.com, which matches every sub-domain of example.com at
 * any depth (a.example.com, a.b.example.com) but not example.com itself: list
 * both to allow both. Entries are lower-case, as URL host names are.
 */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);
const IPV6 = /^\[[0-9a-f:.]+\]$/;

export const AllowedHost = z
  .string()
  .max(253)
  .refine((h) => HOST_NAME.test(h) || IPV6.test(h), {
    error: 'must be a lower-case host name such as api.example.com, *.example.com for its sub-domains, or an IP address',
  });

export const AllowedHosts = z
  .array(AllowedHost)
  .min(1, 'list at least one host the secret may be sent to')
  .max(50)
  // Duplicates say nothing more; they are dropped rather than refused.
  .transform((hosts) => [...new Set(hosts)])
  .describe('the hosts this secret may be sent to: exact host names, or *.example.com for sub-domains of example.com (not example.com itself)');

/** Whether a URL's host name (as new URL(...).hostname gives it) is one the list allows. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowed.some((a) => (a.startsWith('*.') ? h.length > a.length - 1 && h.endsWith(a.slice(1)) : h === a));
}
