import { z } from 'zod';

export const Email = z.email('must be an email address').max(255);
export const Password = z
  .string()
  .min(10, 'must be at least 10 characters')
  .max(256, 'must be at most 256 characters');
export const Username = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'may contain letters, digits, ".", "_" and "-", starting with a letter or digit');
export const OrgSlug = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'lower-case letters, digits and "-", not starting or ending with "-"');
export const TotpCode = z.string().regex(/^\d{6}$/, 'must be the 6-digit code from the authenticator app');
export const RecoveryCode = z.string().min(10).max(20);
export const Uuid = z.uuid('must be a UUID');
export const IdParams = z.strictObject({ id: Uuid });
export const PermissionName = z.string().regex(/^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$/, 'must look like resource:action');
export const RoleName = z.string().min(1).max(50).regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, "_" and "-"');
