import { useEffect, useState } from 'preact/hooks';

/** Pages live under /console/; the service answers every such path with the app, which picks the page from the path. */
export const BASE = '/console/';

export function currentPage(): string {
  const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return p.replace(/\/+$/, '') || 'overview';
}

export function navigate(page: string): void {
  history.pushState(null, '', BASE + page);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePage(): string {
  const [page, setPage] = useState(currentPage());
  useEffect(() => {
    const on = () => setPage(currentPage());
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return page;
}

/** An in-app link's click: navigates without a page load (the href stays for opening in a new tab). */
export const linkTo = (page: string) => (e: Event) => {
  e.preventDefault();
  navigate(page);
};
