import { validationFailed } from '../errors.js';

/** Refuses a read whose range starts after it ends (the reads' one wording for it). */
export function checkRangeOrder(from: string | Date | undefined, to: string | Date | undefined): void {
  if (from && to && new Date(from).getTime() > new Date(to).getTime()) {
    throw validationFailed('query.from: must not be after to', [{ path: 'query.from', message: 'must not be after to' }]);
  }
}
