/**
 * The console's only way to the service: the public JSON API on the same
 * origin. Tokens live in this module's memory only (never in storage or a
 * cookie a script could read): a reload signs out, and an injected script
 * finds nothing to steal in localStorage. The access token is refreshed once,
 * transparently, when an answer says it expired.
 */

export interface ApiErrorBody {
  error?: { code?: string; message?: string; requestId?: string; details?: unknown };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** What to show for a failed call: the API's message, which says what to fix. */
export const errorText = (err: unknown): string => (err instanceof ApiError ? err.message : String(err));

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export interface Organization {
  orgId: string;
  name: string;
  slug: string;
}

export interface Me {
  user: { id: string; email: string; fullName: string | null };
  organizationId: string;
  permissions: string[];
  organizations: Organization[];
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

type Listener = () => void;

export class Api {
  private tokens: TokenPair | null = null;
  private readonly signedOut: Listener[] = [];

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  /** called when the session ends (sign out, refresh refused) */
  onSignedOut(l: Listener): () => void {
    this.signedOut.push(l);
    return () => {
      const i = this.signedOut.indexOf(l);
      if (i >= 0) this.signedOut.splice(i, 1);
    };
  }

  async login(email: string, password: string, extra: { mfaCode?: string; organizationId?: string } = {}): Promise<void> {
    const out = await this.send<{ tokens: TokenPair }>('POST', '/v1/auth/login', { email, password, ...extra }, false);
    this.tokens = out.tokens;
  }

  /** New tokens in another organization of the user; the session left behind is logged out. */
  async switchOrganization(organizationId: string): Promise<void> {
    const old = this.tokens;
    const out = await this.send<{ tokens: TokenPair }>('POST', '/v1/auth/switch-organization', { organizationId });
    this.tokens = out.tokens;
    if (old) await this.send('POST', '/v1/auth/logout', { refreshToken: old.refreshToken }, false).catch(() => undefined);
  }

  async logout(): Promise<void> {
    const t = this.tokens;
    this.tokens = null;
    if (t) await this.send('POST', '/v1/auth/logout', { refreshToken: t.refreshToken }, false).catch(() => undefined);
    for (const l of this.signedOut) l();
  }

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PATCH', path, body);
  }

  del<T = void>(path: string): Promise<T> {
    return this.send<T>('DELETE', path);
  }

  /**
   * POSTs and reads the answer as server-sent events (a streamed run), calling
   * onEvent for each. EventSource cannot send an Authorization header, so the
   * stream is read from fetch's body. A JSON answer is an error.
   */
  async stream(path: string, body: unknown, onEvent: (event: string, data: unknown) => void): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream', 'content-type': 'application/json' };
    if (this.tokens) headers.authorization = `Bearer ${this.tokens.accessToken}`;
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'omit' });
    if (!res.ok || !res.headers.get('content-type')?.startsWith('text/event-stream') || !res.body) {
      const e = ((await res.json().catch(() => ({}))) as ApiErrorBody).error ?? {};
      throw new ApiError(res.status, e.code ?? 'error', e.message ?? `POST ${path} answered ${res.status}`, e.requestId);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length) onEvent(event, JSON.parse(data.join('\n')) as unknown);
      }
    }
  }

  private async send<T>(method: string, path: string, body?: unknown, authed = true, retried = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (authed && this.tokens) headers.authorization = `Bearer ${this.tokens.accessToken}`;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' });
    if (res.status === 204) return undefined as T;
    const json = (await res.json().catch(() => ({}))) as T & ApiErrorBody;
    if (res.ok) return json;
    const e = json.error ?? {};
    if (authed && res.status === 401 && !retried && this.tokens && (e.code === 'token_expired' || e.code === 'invalid_token')) {
      if (await this.refresh()) return this.send<T>(method, path, body, authed, true);
    }
    if (authed && res.status === 401) {
      this.tokens = null;
      for (const l of this.signedOut) l();
    }
    throw new ApiError(res.status, e.code ?? 'error', e.message ?? `${method} ${path} answered ${res.status}`, e.requestId);
  }

  private async refresh(): Promise<boolean> {
    const t = this.tokens;
    if (!t) return false;
    try {
      const out = await this.send<{ tokens: TokenPair }>('POST', '/v1/auth/refresh', { refreshToken: t.refreshToken }, false);
      this.tokens = out.tokens;
      return true;
    } catch {
      return false;
    }
  }
}
