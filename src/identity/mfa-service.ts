import { randomBytes } from 'node:crypto';
import { appendAudit, type Actor } from '../audit/index.js';
import type { Sql } from '../db/index.js';
import { AppError, badRequest, notFound } from '../errors.js';
import type { IdentityDeps } from './deps.js';
import * as mfa from './mfa-repo.js';
import { verifyPassword } from './passwords.js';
import { open, seal, sha256hex } from './secrets.js';
import { newTotpSecret, totpStep, totpUri } from './totp.js';
import { getPasswordHash, getUser, setMfaEnabled } from './users-repo.js';

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

const normalizeRecovery = (c: string) => c.trim().toLowerCase().replace(/[^a-z0-9]/g, '');

/** Checks a TOTP code against the device and burns its time step, so a code works once. */
async function useTotp(sql: Sql, deps: IdentityDeps, device: mfa.MfaDeviceRow, code: string): Promise<boolean> {
  const step = totpStep(open(deps.keys.secretBox, device.secretCiphertext), code);
  if (step === null || (device.lastUsedStep !== null && step <= device.lastUsedStep)) return false;
  await mfa.markStepUsed(sql, device.id, step);
  return true;
}

export async function verifyMfaForLogin(
  sql: Sql,
  deps: IdentityDeps,
  userId: string,
  input: { mfaCode?: string; recoveryCode?: string },
): Promise<boolean> {
  if (input.recoveryCode) return mfa.useRecoveryCode(sql, userId, sha256hex(normalizeRecovery(input.recoveryCode)));
  const device = await mfa.confirmedDevice(sql, userId);
  return device !== undefined && input.mfaCode !== undefined && useTotp(sql, deps, device, input.mfaCode);
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

async function requirePasswordAndCode(
  sql: Sql,
  deps: IdentityDeps,
  userId: string,
  password: string,
  code: { mfaCode?: string; recoveryCode?: string },
): Promise<void> {
  const hash = await getPasswordHash(sql, userId);
  if (!hash || !(await verifyPassword(hash, password))) {
    throw new AppError(401, 'invalid_credentials', 'the password is wrong');
  }
  if (!code.mfaCode && !code.recoveryCode) throw badRequest('send mfaCode or recoveryCode to confirm');
  if (!(await verifyMfaForLogin(sql, deps, userId, code))) throw wrongCode();
}

export async function disableMfa(
  deps: IdentityDeps,
  actor: Actor & { userId: string },
  input: { password: string; mfaCode?: string; recoveryCode?: string },
): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    if (!(await mfa.confirmedDevice(sql, actor.userId))) {
      throw new AppError(409, 'conflict', 'two-factor authentication is not on');
    }
    await requirePasswordAndCode(sql, deps, actor.userId, input.password, input);
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
  return deps.db.tenant(actor.orgId, async (sql) => {
    if (!(await mfa.confirmedDevice(sql, actor.userId))) {
      throw new AppError(409, 'conflict', 'two-factor authentication is not on');
    }
    await requirePasswordAndCode(sql, deps, actor.userId, input.password, input);
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
