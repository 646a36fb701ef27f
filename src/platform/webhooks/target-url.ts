import { isIP } from 'node:net';
import { addressCategory } from '../../net/index.js';
import { badRequest } from '../../errors.js';

/**
 * What an endpoint URL may be, checked when it is saved: http(s), no
 * credentials in it (the signature authenticates us; a password in a URL
 * would be shown to every reader), and, when its host is a literal IP, a
 * public one unless private targets are allowed. A host name is checked at
 * each delivery against what it then resolves to (DNS can change).
 */
export function checkTargetUrl(raw: string, allowPrivate: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('url is not a valid absolute URL; send e.g. https://example.com/hooks/agentbase', { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badRequest(`url must be http or https, not ${url.protocol}`, { field: 'url' });
  }
  if (url.username || url.password) {
    throw badRequest('url must not contain a user name or password; verify our signature instead', { field: 'url' });
  }
  if (url.hash) throw badRequest('url must not contain a #fragment', { field: 'url' });
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!allowPrivate && isIP(host)) {
    const category = addressCategory(host);
    if (category) {
      throw badRequest(
        `url: ${host} is a ${category} address; webhooks may only reach public addresses unless the server sets AGENTBASE_WEBHOOKS_ALLOW_PRIVATE=true`,
        { field: 'url', address: host, category },
      );
    }
  }
  return url.toString();
}
