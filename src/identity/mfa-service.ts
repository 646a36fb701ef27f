import { randomBytes } from 'node:crypto';
import { appendAudit, type Actor } from '../audit/index.js';
import { AppError, badRequest, notFound } from '../errors.js';
import type { IdentityDeps } from './deps.js';
import * as mfa from './mfa-repo.js';
import { checkCredentials, normalizeRecovery } from './credentials.js';
import { open, seal, sha256hex } from './secrets.js';
import { newTotpSecret, totpStep, totpUri } from './totp.js';
import { getUser, setMfaEnabled } from './users-repo.js';

const RECOVERY_CODES = 10;

const wrongCode = () => new AppError(401, 'invalid_mfa_code', 'the two-factor code is wrong, expired or already used');

function newRecoveryCodes(): string[] {
  // 10 codes of 10 base32 characters (50 bits each), shown once as xxxxx-xxxxx.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from({ length: RECOVERY_CODES }, () => {
    const b = randomBytes(10);
    const s = Array.from(b, (x) => alphabet[x % 32]).join('');
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}


export interface Enrollment {
  deviceId: string;
  secret: string;
  otpauthUrl: string;
}

/** Starts TOTP enrollment; MFA is not required until the device is confirmed with a code. */
export async function enrollTotp(deps: IdentityDeps, actor: Actor & { userId: string }, name: string): Promise<Enrollment> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const user = await getUser(sql, actor.userId);
    if (!user) throw notFound('user', actor.userId);
    if (await mfa.confirmedDevice(sql, actor.userId)) {
      throw new AppError(409, 'conflict', 'two-factor authentication is already on; disable it before enrolling another device');
    }
    const secret = newTotpSecret();
    const device = await mfa.insertDevice(sql, actor.userId, name, seal(deps.keys.secretBox, secret));
    await appendAudit(sql, actor, { action: 'mfa.enrollment_started', resourceType: 'mfa_device', resourceId: device.id });
    return { deviceId: device.id, secret, otpauthUrl: totpUri(user.email, secret) };
  });
}

/** Confirms a device with its first code, turns MFA on and returns recovery codes (shown once). */
export async function confirmTotp(
  deps: IdentityDeps,
  actor: Actor & { userId: string },
  deviceId: string,
  code: string,
): Promise<{ recoveryCodes: string[] }> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const device = await mfa.getDevice(sql, actor.userId, deviceId);
    if (!device) throw notFound('MFA device', deviceId);
    if (device.confirmedAt) throw new AppError(409, 'conflict', 'this device is already confirmed');
    if (await mfa.confirmedDevice(sql, actor.userId)) {
      throw new AppError(409, 'conflict', 'two-factor authentication is already on with another device; disable it first');
    }
    const step = totpStep(open(deps.keys.secretBox, device.secretCiphertext), code);
    if (step === null) throw wrongCode();
    await mfa.confirmDevice(sql, device.id, step);
    await setMfaEnabled(sql, actor.userId, true);
    const codes = newRecoveryCodes();
    await mfa.replaceRecoveryCodes(sql, actor.userId, codes.map((c) => sha256hex(normalizeRecovery(c))));
    await appendAudit(sql, actor, { action: 'mfa.enabled', resourceType: 'mfa_device', resourceId: device.id });
    return { recoveryCodes: codes };
  });
}

/**
 * Turning MFA off or replacing recovery codes needs the password and a code,
 * checked like a login (counted, and refused while the account is locked).
 */
async function requireStepUp(
  deps: IdentityDeps,
  actor: Actor & { userId: string },
  input: { password: string; mfaCode?: string; recoveryCode?: string },
): Promise<void> {
  const on = await deps.db.tenant(actor.orgId, (sql) => mfa.confirmedDevice(sql, actor.userId));
  if (!on) throw new AppError(409, 'conflict', 'two-factor authentication is not on');
  if (!input.mfaCode && !input.recoveryCode) throw badRequest('send mfaCode or recoveryCode to confirm');
  await checkCredentials(deps, actor.userId, input);
}

export async function disableMfa(
  deps: IdentityDeps,
  actor: Actor & { userId: string },
  input: { password: string; mfaCode?: string; recoveryCode?: string },
): Promise<void> {
  await requireStepUp(deps, actor, input);
  await deps.db.tenant(actor.orgId, async (sql) => {
    await mfa.removeDevices(sql, actor.userId);
    await mfa.replaceRecoveryCodes(sql, actor.userId, []);
    await setMfaEnabled(sql, actor.userId, false);
    await appendAudit(sql, actor, { action: 'mfa.disabled', resourceType: 'user', resourceId: actor.userId });
  });
}

export async function regenerateRecoveryCodes(
  deps: IdentityDeps,
  actor: Actor & { userId: string },
  input: { password: string; mfaCode?: string; recoveryCode?: string },
): Promise<{ recoveryCodes: string[] }> {
  await requireStepUp(deps, actor, input);
  return deps.db.tenant(actor.orgId, async (sql) => {
    const codes = newRecoveryCodes();
    await mfa.replaceRecoveryCodes(sql, actor.userId, codes.map((c) => sha256hex(normalizeRecovery(c))));
    await appendAudit(sql, actor, { action: 'mfa.recovery_codes_regenerated', resourceType: 'user', resourceId: actor.userId });
    return { recoveryCodes: codes };
  });
}

export async function mfaStatus(deps: IdentityDeps, orgId: string, userId: string) {
  return deps.db.tenant(orgId, async (sql) => {
    const device = await mfa.confirmedDevice(sql, userId);
    return {
      enabled: device !== undefined,
      deviceName: device?.name ?? null,
      recoveryCodesRemaining: device ? await mfa.remainingRecoveryCodes(sql, userId) : 0,
    };
  });
}
