import type * as Otplib from 'otplib';
import { lazyRequire } from '../lazy-require.js';

// RFC 6238 TOTP through otplib: 30-second steps, 6 digits, one step of clock
// drift allowed either way. A clone, so the library's shared instance is
// untouched; made (and otplib loaded) when MFA is first used.
const otplib = lazyRequire<typeof Otplib>('otplib');
let instance: ReturnType<typeof Otplib.authenticator.clone> | undefined;
const totp = () => (instance ??= otplib().authenticator.clone({ window: 1, step: 30, digits: 6 }));

export const newTotpSecret = (): string => totp().generateSecret(20);

export const totpUri = (account: string, secret: string): string => totp().keyuri(account, 'agentbase', secret);

/** The time step a code belongs to, or null when it matches none in the window. */
export function totpStep(secret: string, code: string, now = Date.now()): number | null {
  // One clock reading for both the check and the step, so a code checked at a
  // step boundary cannot be credited to the wrong step.
  const delta = totp().clone({ epoch: now }).checkDelta(code, secret);
  if (delta === null) return null;
  return Math.floor(now / 1000 / 30) + delta;
}

export const totpCode = (secret: string): string => totp().generate(secret);
