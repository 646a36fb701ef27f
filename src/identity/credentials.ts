import { AppError } from '../errors.js';
import type { IdentityDeps } from './deps.js';
import type { Sql } from '../db/index.js';
import * as mfa from './mfa-repo.js';
import { open, sha256hex } from './secrets.js';
import { totpStep } from './totp.js';
import { verifyPassword } from './passwords.js';
import { clearFailedLogins, lockCredentials, recordFailedLogin } from './users-repo.js';

export const normalizeRecovery = (c: string) => c.trim().toLowerCase().replace(/[^a-z0-9]/g, '');

/** Checks a TOTP code against the device and burns its time step, so a code works once. */
async function useTotp(sql: Sql, deps: IdentityDeps, device: mfa.MfaDeviceRow, code: string): Promise<boolean> {
  const step = totpStep(open(deps.keys.secretBox, device.secretCiphertext), code);
  if (step === null || (device.lastUsedStep !== null && step <= device.lastUsedStep)) return false;
  await mfa.markStepUsed(sql, device.id, step);
  return true;
}

export async function verifySecondFactor(
  sql: Sql,
  deps: IdentityDeps,
  userId: string,
  input: { mfaCode?: string; recoveryCode?: string },
): Promise<boolean> {
  if (input.recoveryCode) return mfa.useRecoveryCode(sql, userId, sha256hex(normalizeRecovery(input.recoveryCode)));
  const device = await mfa.confirmedDevice(sql, userId);
  return device !== undefined && input.mfaCode !== undefined && useTotp(sql, deps, device, input.mfaCode);
}


export interface CredentialInput {
  password: string;
  mfaCode?: string;
  recoveryCode?: string;
}

export function lockedError(until: Date): AppError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
  return new AppError(
    429,
    'account_locked',
    `too many failed attempts; this account is locked for ${seconds} more seconds`,
    { retryAfterSeconds: seconds },
    { 'retry-after': String(seconds) },
  );
}

type Outcome =
  | { kind: 'ok' }
  | { kind: 'locked'; until: Date }
  | { kind: 'bad_password'; until: Date | null }
  | { kind: 'mfa_required' }
  | { kind: 'bad_mfa'; until: Date | null };

/**
 * Checks a user's password, and the second factor when it is on, wherever a
 * password is accepted (login, joining by invitation, turning MFA off). It
 * holds the credentials row lock for the whole check, so parallel guesses for
 * one account queue behind each other and cannot outrun the lockout; each
 * failure is counted in that transaction, and the error is thrown only after
 * it commits.
 */
export async function checkCredentials(deps: IdentityDeps, userId: string, input: CredentialInput): Promise<void> {
  const outcome = await deps.db.transaction(async (sql): Promise<Outcome> => {
    const c = await lockCredentials(sql, userId);
    if (!c) return { kind: 'bad_password', until: null };
    if (c.lockedUntil && c.lockedUntil.getTime() > Date.now()) return { kind: 'locked', until: c.lockedUntil };
    const fail = async (kind: 'bad_password' | 'bad_mfa'): Promise<Outcome> => ({
      kind,
      until: await recordFailedLogin(sql, userId, deps.auth.loginMaxAttempts, deps.auth.loginLockoutSeconds),
    });
    if (!(await verifyPassword(c.passwordHash, input.password))) return fail('bad_password');
    if (c.mfaEnabled) {
      if (!input.mfaCode && !input.recoveryCode) return { kind: 'mfa_required' };
      if (!(await verifySecondFactor(sql, deps, userId, input))) return fail('bad_mfa');
    }
    await clearFailedLogins(sql, userId);
    return { kind: 'ok' };
  });
  const lockedNow = (until: Date | null) => until !== null && until.getTime() > Date.now();
  switch (outcome.kind) {
    case 'ok':
      return;
    case 'locked':
      throw lockedError(outcome.until);
    case 'bad_password':
      if (lockedNow(outcome.until)) throw lockedError(outcome.until!);
      throw new AppError(401, 'invalid_credentials', 'the email or password is wrong');
    case 'mfa_required':
      throw new AppError(401, 'mfa_required', 'this account uses two-factor authentication; send mfaCode (or recoveryCode) as well');
    case 'bad_mfa':
      if (lockedNow(outcome.until)) throw lockedError(outcome.until!);
      throw new AppError(401, 'invalid_mfa_code', 'the two-factor code is wrong, expired or already used');
  }
}
