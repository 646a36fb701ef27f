import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Me } from './api.js';
import { AgentPage, AgentsPage } from './pages/agents.js';
import { ApiKeysPage } from './pages/api-keys.js';
import { AuditPage } from './pages/audit.js';
import { OverviewPage } from './pages/overview.js';
import { JobsPage } from './pages/jobs.js';
import { MemoryPage } from './pages/memory.js';
import { PlanPage, PlansPage } from './pages/plans.js';
import { RunsPage } from './pages/runs.js';
import { SessionPage, SessionsPage } from './pages/sessions.js';
import { TracePage } from './pages/trace.js';
import { WorkflowRunPage, WorkflowsPage } from './pages/workflows.js';
import { SignInPage } from './pages/sign-in.js';
import { navigate, usePage } from './router.js';

const PAGES = [
  { id: 'overview', title: 'Overview' },
  { id: 'runs', title: 'Runs' },
  { id: 'sessions', title: 'Sessions' },
  { id: 'agents', title: 'Agents' },
  { id: 'memory', title: 'Memory' },
  { id: 'plans', title: 'Plans' },
  { id: 'workflows', title: 'Workflows' },
  { id: 'jobs', title: 'Jobs' },
  { id: 'audit', title: 'Audit log' },
  { id: 'api-keys', title: 'API keys' },
] as const;

export function App({ api }: { api: Api }) {
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const page = usePage();

  useEffect(() => api.onSignedOut(() => setMe(null)), [api]);

  const signedIn = async () => {
    try {
      setMe(await api.get<Me>('/v1/me'));
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };

  if (!me) return <SignInPage api={api} onSignedIn={signedIn} />;
  const org = me.organizations.find((o) => o.orgId === me.organizationId);
  // runs/<id> is a run's trace, under Runs
  const [section, param] = page.split('/') as [string, string | undefined];
  const current = PAGES.find((p) => p.id === section) ?? PAGES[0];
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">agentbase</span>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a
              key={p.id}
              href={`/console/${p.id}`}
              aria-current={p.id === current.id ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(p.id);
              }}
            >
              {p.title}
            </a>
          ))}
        </nav>
        {me.organizations.length > 1 ? (
          <label class="org">
            <span class="sr-only">Organization</span>
            <select
              value={me.organizationId}
              onChange={(e) => {
                const to = e.currentTarget.value;
                void api.switchOrganization(to).then(signedIn, (err: unknown) => setError(errorText(err)));
              }}
            >
              {me.organizations.map((o) => <option key={o.orgId} value={o.orgId}>{o.name}</option>)}
            </select>
          </label>
        ) : null}
        <span class="who" title={me.user.email}>
          {me.organizations.length > 1 ? '' : `${org?.name ?? me.organizationId} · `}{me.user.email}
        </span>
        <button type="button" onClick={() => void api.logout()}>
          Sign out
        </button>
      </header>
      <main key={me.organizationId}>
        {error && <p role="alert" class="error">{error}</p>}
        {current.id === 'overview' && <OverviewPage api={api} />}
        {current.id === 'runs' && (param ? <TracePage api={api} id={param} /> : <RunsPage api={api} />)}
        {current.id === 'sessions' && (param ? <SessionPage api={api} id={param} /> : <SessionsPage api={api} />)}
        {current.id === 'agents' && (param ? <AgentPage api={api} id={param} /> : <AgentsPage api={api} />)}
        {current.id === 'workflows' && (param ? <WorkflowRunPage api={api} id={param} /> : <WorkflowsPage api={api} />)}
        {current.id === 'jobs' && <JobsPage api={api} />}
        {current.id === 'memory' && <MemoryPage api={api} />}
        {current.id === 'plans' && (param ? <PlanPage api={api} id={param} /> : <PlansPage api={api} />)}
        {current.id === 'audit' && <AuditPage api={api} />}
        {current.id === 'api-keys' && <ApiKeysPage api={api} me={me} />}
      </main>
    </div>
  );
}
