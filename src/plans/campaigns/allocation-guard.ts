import { pgErrorCode } from '../../db/index.js';
import { AppError } from '../../errors.js';

/**
 * The database's last word on a campaign's channel mix: the deferred
 * constraint trigger channel_plans_allocation_total refuses, at commit, a
 * campaign whose allocations add up to more than 100 % (numeric(5,2) rounds
 * each to cents, so a mix the API summed to 100 can still come out over).
 * That refusal is the client's: 400 validation_failed naming channelPlans
 * and the total, with nothing written (the transaction rolled back).
 */
export const ALLOCATION_CONSTRAINT = 'channel_plans_allocation_total';

const constraintOf = (err: unknown): unknown => (err as { constraint?: unknown } | null)?.constraint;

export function isAllocationViolation(err: unknown): boolean {
  if (pgErrorCode(err) !== '23514') return false;
  return constraintOf(err) === ALLOCATION_CONSTRAINT || /channel budget allocations/.test(String((err as Error).message));
}

export async function allocationGuard<T>(work: () => Promise<T>, path = 'body.channelPlans'): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isAllocationViolation(err)) throw err;
    const total = /add up to ([0-9.]+)/.exec(String((err as Error).message))?.[1];
    const message = `the channel plans' budget allocations add up to ${total ?? 'more than 100'} % (each stored to the cent), more than 100 %`;
    throw new AppError(400, 'validation_failed', message, { issues: [{ path, message }], total: total === undefined ? null : Number(total) });
  }
}
