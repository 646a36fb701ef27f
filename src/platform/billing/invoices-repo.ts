import { uuidv7, type Sql } from '../../db/index.js';
import type { PlanName } from './plans.js';
import type { PricedInvoice } from './pricing.js';

/**
 * SQL of invoices and invoice_lines (migration 0024). Every function runs in
 * a tenant transaction of orgId. Cents are bigint in the table and read as
 * float8, exact below 2^53 cents.
 */

export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';

export interface InvoiceLine {
  position: number;
  item: string;
  description: string;
  quantity: number;
  includedQuantity: number;
  billableQuantity: number;
  unitSize: number;
  unitPriceCents: number;
  amountCents: number;
}

export interface InvoiceRow {
  id: string;
  invoiceNumber: string;
  status: InvoiceStatus;
  plan: PlanName;
  customerName: string;
  subscriptionId: string | null;
  periodStart: string;
  periodEnd: string;
  currency: 'USD';
  subtotalCents: number;
  taxRateBps: number;
  taxCents: number;
  totalCents: number;
  amountPaidCents: number;
  amountDueCents: number;
  invoiceDate: string;
  dueDate: string | null;
  finalizedAt: Date | null;
  paidAt: Date | null;
  voidedAt: Date | null;
  paymentProvider: string;
  paymentReference: string | null;
  lastPaymentError: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, invoice_number AS "invoiceNumber", status, plan, customer_name AS "customerName", subscription_id AS "subscriptionId",
  period_start::text AS "periodStart", period_end::text AS "periodEnd", currency, subtotal_cents::float8 AS "subtotalCents",
  tax_rate_bps AS "taxRateBps", tax_cents::float8 AS "taxCents", total_cents::float8 AS "totalCents",
  amount_paid_cents::float8 AS "amountPaidCents", amount_due_cents::float8 AS "amountDueCents", invoice_date::text AS "invoiceDate",
  due_date::text AS "dueDate", finalized_at AS "finalizedAt", paid_at AS "paidAt", voided_at AS "voidedAt",
  payment_provider AS "paymentProvider", payment_reference AS "paymentReference", last_payment_error AS "lastPaymentError",
  version, created_at AS "createdAt", updated_at AS "updatedAt"`;

export interface NewInvoice {
  id: string;
  subscriptionId: string;
  paymentProvider: string;
  invoiceNumber: string;
  plan: PlanName;
  customerName: string;
  periodStart: string;
  periodEnd: string;
  invoiceDate: string;
  priced: PricedInvoice;
}

/** A draft with its lines; undefined when the period already has an invoice (invoices_one_per_period). */
export async function insertDraft(sql: Sql, orgId: string, n: NewInvoice): Promise<InvoiceRow | undefined> {
  const p = n.priced;
  const r = await sql.query<InvoiceRow>(
    `INSERT INTO invoices (id, org_id, subscription_id, payment_provider, invoice_number, status, plan, customer_name,
       period_start, period_end, subtotal_cents, tax_rate_bps, tax_cents, total_cents, amount_due_cents, invoice_date)
     VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10::bigint, $11, $12::bigint, $13::bigint, $13::bigint, $14)
     ON CONFLICT (org_id, period_start) DO NOTHING
     RETURNING ${COLUMNS}`,
    [n.id, orgId, n.subscriptionId, n.paymentProvider, n.invoiceNumber, n.plan, n.customerName, n.periodStart, n.periodEnd,
      p.subtotalCents.toString(), p.taxRateBps, p.taxCents.toString(), p.totalCents.toString(), n.invoiceDate],
  );
  const inv = r.rows[0];
  if (!inv) return undefined;
  const lines = p.lines.map((l) => ({
    id: uuidv7(), position: l.position, item: l.item, description: l.description, quantity: l.quantity.toString(),
    included_quantity: l.includedQuantity.toString(), billable_quantity: l.billableQuantity.toString(), unit_size: l.unitSize.toString(),
    unit_price_cents: l.unitPriceCents.toString(), amount_cents: l.amountCents.toString(),
  }));
  await sql.query(
    `INSERT INTO invoice_lines (id, org_id, invoice_id, position, item, description, quantity, included_quantity, billable_quantity,
       unit_size, unit_price_cents, amount_cents)
     SELECT l.id, $1, $2, l.position, l.item, l.description, l.quantity, l.included_quantity, l.billable_quantity,
       l.unit_size, l.unit_price_cents, l.amount_cents
     FROM jsonb_to_recordset($3::jsonb) AS l(id uuid, position smallint, item text, description text, quantity bigint, included_quantity bigint,
       billable_quantity bigint, unit_size bigint, unit_price_cents bigint, amount_cents bigint)`,
    [orgId, inv.id, JSON.stringify(lines)],
  );
  return inv;
}

/** draft → open: the invoice is final and due. */
export async function finalize(sql: Sql, orgId: string, id: string, dueDate: string, at: Date): Promise<InvoiceRow> {
  const r = await sql.query<InvoiceRow>(
    `UPDATE invoices SET status = 'open', finalized_at = $3, due_date = $4 WHERE org_id = $1 AND id = $2 AND status = 'draft'
     RETURNING ${COLUMNS}`,
    [orgId, id, at.toISOString(), dueDate],
  );
  return r.rows[0]!;
}

export async function getInvoice(sql: Sql, orgId: string, id: string, lock = false): Promise<InvoiceRow | undefined> {
  const r = await sql.query<InvoiceRow>(`SELECT ${COLUMNS} FROM invoices WHERE org_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [orgId, id]);
  return r.rows[0];
}

export async function getInvoiceForPeriod(sql: Sql, orgId: string, periodStart: string): Promise<InvoiceRow | undefined> {
  const r = await sql.query<InvoiceRow>(`SELECT ${COLUMNS} FROM invoices WHERE org_id = $1 AND period_start = $2`, [orgId, periodStart]);
  return r.rows[0];
}

export async function invoiceLines(sql: Sql, orgId: string, invoiceId: string): Promise<InvoiceLine[]> {
  const r = await sql.query<InvoiceLine>(
    `SELECT position, item, description, quantity::float8 AS quantity, included_quantity::float8 AS "includedQuantity",
       billable_quantity::float8 AS "billableQuantity", unit_size::float8 AS "unitSize", unit_price_cents::float8 AS "unitPriceCents",
       amount_cents::float8 AS "amountCents"
     FROM invoice_lines WHERE org_id = $1 AND invoice_id = $2 ORDER BY position`,
    [orgId, invoiceId],
  );
  return r.rows;
}

export interface InvoiceFilter {
  status?: InvoiceStatus | undefined;
  before?: { periodStart: string; id: string } | undefined;
  limit: number;
}

/** Newest period first, keyset on (period_start, id). */
export async function listInvoices(sql: Sql, orgId: string, f: InvoiceFilter): Promise<InvoiceRow[]> {
  const r = await sql.query<InvoiceRow>(
    `SELECT ${COLUMNS} FROM invoices
     WHERE org_id = $1 AND ($2::text IS NULL OR status = $2)
       AND ($3::date IS NULL OR (period_start, id) < ($3::date, $4::uuid))
     ORDER BY period_start DESC, id DESC LIMIT $5`,
    [orgId, f.status ?? null, f.before?.periodStart ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

export async function markPaid(sql: Sql, orgId: string, id: string, reference: string, at: Date): Promise<InvoiceRow> {
  const r = await sql.query<InvoiceRow>(
    `UPDATE invoices SET status = 'paid', paid_at = $3, payment_reference = $4, amount_paid_cents = total_cents, amount_due_cents = 0,
       last_payment_error = NULL
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, at.toISOString(), reference],
  );
  return r.rows[0]!;
}

export async function recordPaymentFailure(sql: Sql, orgId: string, id: string, reference: string, reason: string): Promise<InvoiceRow> {
  const r = await sql.query<InvoiceRow>(
    `UPDATE invoices SET payment_reference = $3, last_payment_error = left($4, 1000) WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, reference, reason],
  );
  return r.rows[0]!;
}

export async function markVoid(sql: Sql, orgId: string, id: string, at: Date): Promise<InvoiceRow> {
  const r = await sql.query<InvoiceRow>(
    `UPDATE invoices SET status = 'void', voided_at = $3, amount_due_cents = 0 WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, at.toISOString()],
  );
  return r.rows[0]!;
}
