import { randomUUID } from 'node:crypto';

/**
 * The seam to whoever takes the money. agentbase ships no real processor:
 * `offline` records payments as settled out of band (bank transfer, a
 * contract) and always succeeds; `offline_declining` declines every charge so
 * the past_due path can be exercised. A Stripe-like provider would implement
 * the same three calls; `charge` receives the invoice id as its idempotency
 * key, so a retried pay never charges twice at the processor.
 */

export interface ChargeRequest {
  /** the invoice id: the processor's idempotency key */
  idempotencyKey: string;
  invoiceNumber: string;
  orgId: string;
  customerId: string;
  amountCents: bigint;
  currency: 'USD';
}

export type ChargeResult =
  | { status: 'paid'; reference: string }
  | { status: 'failed'; reference: string; reason: string };

export interface PaymentProvider {
  /** stored in payment_provider on subscriptions and invoices */
  readonly name: string;
  /** the processor's customer for an organization (called once, when its first subscription is made) */
  createCustomer(org: { id: string; name: string }): Promise<{ customerId: string }>;
  charge(req: ChargeRequest): Promise<ChargeResult>;
  /** optional: not every processor can refund through the API */
  refund?(req: { reference: string; amountCents: bigint }): Promise<{ reference: string }>;
}

export function offlineProvider(opts: { decline?: boolean } = {}): PaymentProvider {
  return {
    name: 'offline',
    async createCustomer(org) {
      return { customerId: `offline_cus_${org.id}` };
    },
    async charge(req) {
      const reference = `offline_${randomUUID()}`;
      if (opts.decline) return { status: 'failed', reference, reason: 'declined by the offline provider (AGENTBASE_BILLING_PROVIDER=offline_declining)' };
      if (req.amountCents < 0n) return { status: 'failed', reference, reason: 'negative amount' };
      return { status: 'paid', reference };
    },
    async refund() {
      return { reference: `offline_refund_${randomUUID()}` };
    },
  };
}

export function providerFromConfig(name: 'offline' | 'offline_declining'): PaymentProvider {
  return offlineProvider({ decline: name === 'offline_declining' });
}
