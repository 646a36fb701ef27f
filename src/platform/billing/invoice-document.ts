import type { Invoice } from './invoices-service.js';
import { centsText } from './pricing.js';

/**
 * An invoice as a downloadable document: JSON (the API's invoice plus the
 * amounts as decimal text) or a standalone, printable HTML page. Every string
 * that reaches the HTML goes through escapeHtml — the customer name is
 * whatever the organization called itself — and the response also carries a
 * CSP that allows no script at all.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

const usd = (cents: number): string => `$${centsText(BigInt(cents))}`;
const qty = (n: number): string => n.toLocaleString('en-US');

export const DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'";

export function invoiceJson(inv: Invoice) {
  return {
    ...inv,
    amounts: {
      currency: inv.currency,
      subtotal: centsText(BigInt(inv.subtotalCents)),
      tax: centsText(BigInt(inv.taxCents)),
      total: centsText(BigInt(inv.totalCents)),
      amountPaid: centsText(BigInt(inv.amountPaidCents)),
      amountDue: centsText(BigInt(inv.amountDueCents)),
    },
  };
}

export function invoiceHtml(inv: Invoice): string {
  const e = escapeHtml;
  const rows = inv.lines.map((l) => `
      <tr>
        <td>${e(l.description)}</td>
        <td class="n">${e(qty(l.quantity))}</td>
        <td class="n">${e(qty(l.includedQuantity))}</td>
        <td class="n">${e(qty(l.billableQuantity))}</td>
        <td class="n">${e(usd(l.unitPriceCents))} / ${e(qty(l.unitSize))}</td>
        <td class="n">${e(usd(l.amountCents))}</td>
      </tr>`).join('');
  const tax = inv.taxRateBps ? ` (${e((inv.taxRateBps / 100).toFixed(2))} %)` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(DOCUMENT_CSP)}">
<title>Invoice ${e(inv.invoiceNumber)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; color: #111; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  table { width: 100%; border-collapse: collapse; margin: 1.5rem 0; }
  th, td { padding: .4rem .5rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
  .n { text-align: right; white-space: nowrap; }
  .totals td { border: none; }
  .status { display: inline-block; padding: .1rem .5rem; border: 1px solid #111; text-transform: uppercase; font-size: .8rem; }
  dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
  dt { color: #555; }
  @media print { body { margin: 0; } .status { border-color: #000; } }
</style>
</head>
<body>
<h1>Invoice ${e(inv.invoiceNumber)} <span class="status">${e(inv.status)}</span></h1>
<dl>
  <dt>Billed to</dt><dd>${e(inv.customerName)}</dd>
  <dt>Plan</dt><dd>${e(inv.plan)}</dd>
  <dt>Period</dt><dd>${e(inv.periodStart)} to ${e(inv.periodEnd)} (end exclusive)</dd>
  <dt>Invoice date</dt><dd>${e(inv.invoiceDate)}</dd>
  <dt>Due date</dt><dd>${e(inv.dueDate ?? '—')}</dd>
  ${inv.paidAt ? `<dt>Paid</dt><dd>${e(inv.paidAt.toISOString())} (${e(inv.paymentReference ?? '')})</dd>` : ''}
  ${inv.voidedAt ? `<dt>Voided</dt><dd>${e(inv.voidedAt.toISOString())}</dd>` : ''}
</dl>
<table>
  <thead><tr><th>Item</th><th class="n">Quantity</th><th class="n">Included</th><th class="n">Billable</th><th class="n">Unit price</th><th class="n">Amount</th></tr></thead>
  <tbody>${rows}
  </tbody>
  <tfoot class="totals">
    <tr><td colspan="5" class="n">Subtotal</td><td class="n">${e(usd(inv.subtotalCents))}</td></tr>
    <tr><td colspan="5" class="n">Tax${tax}</td><td class="n">${e(usd(inv.taxCents))}</td></tr>
    <tr><td colspan="5" class="n"><strong>Total (${e(inv.currency)})</strong></td><td class="n"><strong>${e(usd(inv.totalCents))}</strong></td></tr>
    <tr><td colspan="5" class="n">Amount paid</td><td class="n">${e(usd(inv.amountPaidCents))}</td></tr>
    <tr><td colspan="5" class="n">Amount due</td><td class="n">${e(usd(inv.amountDueCents))}</td></tr>
  </tfoot>
</table>
</body>
</html>
`;
}
