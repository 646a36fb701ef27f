import { useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.js';

/** Email and password; a second step asks for the two-factor code when the account uses one. */
export function SignInPage({ api, onSignedIn }: { api: Api; onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [mfaCode, setMfaCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.login(email, password, needsCode ? { mfaCode } : {});
      await onSignedIn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'mfa_required') {
        setNeedsCode(true);
      } else {
        setError(err instanceof ApiError ? err.message : 'the service could not be reached');
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>Sign in to agentbase</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Email
          <input type="email" name="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {needsCode && (
          <label>
            Two-factor code
            <input
              name="mfaCode" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required autoFocus
              value={mfaCode} onInput={(e) => setMfaCode(e.currentTarget.value)}
            />
          </label>
        )}
        {needsCode && <p class="hint">This account uses two-factor authentication: enter the 6-digit code from your authenticator app.</p>}
        {error && <p role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <p class="hint">No account yet? Create one with <code>POST /v1/auth/signup</code> (see the README's quick start).</p>
    </main>
  );
}
