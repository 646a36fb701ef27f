/**
 * A progress bar on stderr. Hand-written: it is a dozen lines, where a package
 * (`progress` is only here as autocannon's transitive dependency) would be a
 * new direct dependency for one bar. On a terminal it redraws one line; into a
 * file or pipe it writes a line per tenth so a log stays readable.
 */
export function progressBar(label: string, total: number): { tick(done: number): void; end(): void } {
  const t0 = performance.now();
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  const line = (done: number) => {
    const f = total ? Math.min(1, done / total) : 1;
    const s = (performance.now() - t0) / 1000;
    const eta = f > 0 ? (s / f) * (1 - f) : 0;
    const bar = `${'█'.repeat(Math.round(f * 30))}${'░'.repeat(30 - Math.round(f * 30))}`;
    return `${label} ${bar} ${(f * 100).toFixed(1).padStart(5)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${s.toFixed(0)} s, ~${eta.toFixed(0)} s left`;
  };
  return {
    tick(done) {
      if (tty) process.stderr.write(`\r${line(done)}\x1b[K`);
      else if (Math.floor((done / total) * 10) > lastTenth) {
        lastTenth = Math.floor((done / total) * 10);
        process.stderr.write(`${line(done)}\n`);
      }
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}
