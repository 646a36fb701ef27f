/** A listing in a marketplace path: its id (a UUID) or its slug; the shape alone decides. */
export const LISTING_REF_RE = /^(?:[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID_RE.test(s);
