import { v7 } from 'uuid';

/** Time-ordered UUIDv7 for high-volume tables: inserts append to the right edge of the index. */
export const uuidv7 = (): string => v7();
