import type { PlansDeps } from '../plans-service.js';

export type { PlansDeps };
export const clock = (deps: PlansDeps): Date => deps.now?.() ?? new Date();
