/**
 * Progress on stderr: a bar redrawn in place on a terminal, plain lines
 * otherwise (a log file or a pipe gets one line per phase, not hundreds).
 */
export interface Progress {
  start(phase: string, total: number | undefined, unit: 'tables' | 'bytes' | 'items'): void;
  tick(n: number, label?: string): void;
  /** for byte counts polled from a growing file */
  set(done: number, label?: string): void;
  end(note?: string): void;
  line(s: string): void;
}

const WIDTH = 30;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function createProgress(write: (s: string) => void, tty: boolean): Progress {
  let phase = '';
  let total: number | undefined;
  let unit: 'tables' | 'bytes' | 'items' = 'items';
  let done = 0;
  let label = '';
  let lastDraw = 0;
  const amount = (n: number) => (unit === 'bytes' ? formatBytes(n) : `${n}`);
  const draw = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const frac = total ? Math.min(1, done / total) : undefined;
    const bar = frac === undefined ? '' : `[${'#'.repeat(Math.round(frac * WIDTH)).padEnd(WIDTH, ' ')}] `;
    const count = total === undefined ? amount(done) : `${amount(done)}/${amount(total)} ${unit === 'bytes' ? '' : unit}`.trimEnd();
    write(`\r\x1b[2K${phase}: ${bar}${count}${label ? ` ${label}` : ''}`);
  };
  return {
    start(p, t, u) {
      phase = p;
      total = t;
      unit = u;
      done = 0;
      label = '';
      if (!tty) write(`${p}${t === undefined ? '' : ` (${amount(t)}${u === 'bytes' ? '' : ` ${u}`})`}...\n`);
      draw(true);
    },
    tick(n, l) {
      done += n;
      if (l !== undefined) label = l;
      draw();
    },
    set(d, l) {
      done = d;
      if (l !== undefined) label = l;
      draw();
    },
    end(note) {
      label = '';
      if (tty) {
        draw(true);
        write(`${note ? ` ${note}` : ''}\n`);
      } else {
        write(`${phase}: done${unit === 'bytes' ? ` (${formatBytes(done)})` : ` (${done} ${unit})`}${note ? `, ${note}` : ''}\n`);
      }
    },
    line(s) {
      write(`${s}\n`);
    },
  };
}

export const silentProgress: Progress = { start() {}, tick() {}, set() {}, end() {}, line() {} };
