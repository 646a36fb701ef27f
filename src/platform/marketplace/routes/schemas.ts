import { z } from 'zod';
import { Text, Uuid } from '../../../http/json-schemas.js';
import { LISTING_STATUSES, PRICING_MODELS } from '../listings-repo.js';
import { LISTING_REF_RE } from '../refs.js';

export { Uuid };

const NUL = '\u0000';
const Line = (max: number) => z.string().trim().min(1).max(max).refine((s) => !s.includes(NUL), 'must not contain NUL characters');
const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export const ListingSlug = z.string().min(1).max(100)
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$/, 'lower-case letters, digits and "-", not starting or ending with "-"');
export const Category = z.string().min(1).max(100)
  .regex(/^[a-z0-9][a-z0-9_-]{0,99}$/, 'lower-case letters, digits, "_" and "-", such as travel or customer-support');
export const Tag = z.string().trim().min(1).max(50).regex(/^[^\s\u0000]+$/, 'one word, no spaces');
export const AgentVersion = z.string().max(50).regex(SEMVER, 'must be a semantic version such as 1.2.0');
export const Version = z.number().int().min(1).describe('the version you read; a stale one gets 409 version_conflict');
export const PriceCents = z.number().int().min(1).max(100_000_000).describe('the price in US cents (paid pricing models only)');

export const ListingRef = z.string().max(100)
  .regex(LISTING_REF_RE, 'must be the listing\'s id (a UUID) or its slug')
  .describe('the listing\'s id or its slug');
export const RefParams = z.strictObject({ ref: ListingRef });
export const IdParams = z.strictObject({ id: Uuid });

const listingFields = {
  slug: ListingSlug.describe('unique across the marketplace; default: derived from the title'),
  title: Line(255),
  shortDescription: Line(500),
  longDescription: Text(20_000).nullable(),
  category: Category,
  tags: z.array(Tag).max(20),
  iconUrl: HttpUrl.nullable(),
  screenshots: z.array(HttpUrl).max(10),
  demoVideoUrl: HttpUrl.nullable(),
  pricingModel: z.enum(PRICING_MODELS),
  priceCents: PriceCents.nullable(),
};

export const NewListingBody = z.strictObject({
  agent: z.string().min(1).max(100).describe('the agent to publish: its id or slug'),
  agentVersion: AgentVersion.optional().describe('the version to publish; default: the agent\'s current version'),
  ...listingFields,
  slug: listingFields.slug.optional(),
  longDescription: listingFields.longDescription.optional(),
  tags: listingFields.tags.optional(),
  iconUrl: listingFields.iconUrl.optional(),
  screenshots: listingFields.screenshots.optional(),
  demoVideoUrl: listingFields.demoVideoUrl.optional(),
  pricingModel: listingFields.pricingModel.optional(),
  priceCents: listingFields.priceCents.optional(),
});

export const ListingPatchBody = z.strictObject({
  version: Version,
  agentVersion: AgentVersion.optional().describe('publish another version of the same agent'),
  ...Object.fromEntries(Object.entries(listingFields).map(([k, v]) => [k, v.optional()])) as {
    [K in keyof typeof listingFields]: z.ZodOptional<(typeof listingFields)[K]>;
  },
});

export const ListingStatusQuery = z.enum(LISTING_STATUSES);

export const ReviewBody = z.strictObject({
  rating: z.number().int().min(1).max(5),
  title: Line(255).nullable().optional(),
  body: Text(5000).nullable().optional(),
});
