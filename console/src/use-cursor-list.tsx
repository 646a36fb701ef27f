import { useEffect, useState } from 'preact/hooks';
import { errorText, type Page } from './api.js';

export interface CursorList<T> {
  rows: T[];
  /** the next page's cursor; null on the last page */
  cursor: string | null;
  /** the first page has arrived */
  loaded: boolean;
  error: string | null;
  /** the next page, appended */
  more(): Promise<void>;
  /** the first page again, replacing what is shown */
  reload(): Promise<void>;
}

/**
 * A list the API pages with cursors (every list in the console): the first
 * page when `deps` change, the next ones on demand. Nothing loads an
 * unbounded list.
 */
export function useCursorList<T>(fetchPage: (cursor: string | null) => Promise<Page<T>>, deps: unknown[]): CursorList<T> {
  const [rows, setRows] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = async (after: string | null) => {
    try {
      const p = await fetchPage(after);
      setRows((r) => (after ? [...r, ...p.data] : p.data));
      setCursor(p.nextCursor);
      setLoaded(true);
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    void load(null);
  }, deps);
  return { rows, cursor, loaded, error, more: () => load(cursor), reload: () => load(null) };
}

/** The "Load more" button of a cursor list (absent on the last page). */
export function LoadMore({ list }: { list: CursorList<unknown> }) {
  return list.cursor ? <button type="button" onClick={() => void list.more()}>Load more</button> : null;
}
