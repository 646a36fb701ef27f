import type * as Argon2 from '@node-rs/argon2';
import { lazyRequire } from '../lazy-require.js';

// A native module: loaded by the first signup, login or password change.
const argon2 = lazyRequire<typeof Argon2>('@node-rs/argon2');

// argon2id (the library default) with OWASP's minimum parameters: 19 MiB, 2 passes.
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => argon2().hash(password, OPTIONS);

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await argon2().verify(stored, password);
  } catch {
    return false;
  }
}

// Verifying against this when the user does not exist keeps the response time
// the same, so timing does not tell which emails have accounts.
let dummy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('agentbase-timing-equaliser');
  await verifyPassword(await dummy, password);
}
