/** A URL's password as written and decoded: what error messages must never show. */
export function urlPassword(url: string): string[] {
  try {
    const { password } = new URL(url);
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

/** A URL without its user:password part (relative ones resolved against base). */
export function withoutCredentials(url: string, base?: string): string {
  try {
    const u = new URL(url, base);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
