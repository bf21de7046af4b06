/**
 * One line on a terminal with a bar per target, redrawn at most ten times a second: how far an
 * apply has come, target by target. Nothing is drawn when output is not a terminal.
 */
export class ProgressLine {
  private readonly totals = new Map<string, { done: number; total: number; failed: number; quarantined: boolean }>();
  private last = 0;

  constructor(private readonly write: ((text: string) => void) | undefined) {}

  start(target: string, total: number): void {
    this.totals.set(target, { done: 0, total, failed: 0, quarantined: false });
    this.draw(true);
  }

  done(target: string, ok: boolean): void {
    const t = this.totals.get(target);
    if (!t) return;
    t.done++;
    if (!ok) t.failed++;
    this.draw(t.done === t.total);
  }

  quarantined(target: string): void {
    const t = this.totals.get(target);
    if (t) t.quarantined = true;
    this.draw(true);
  }

  /** Ends the line so later output starts on its own line. */
  finish(): void {
    if (this.write && this.totals.size > 0) {
      this.draw(true);
      this.write('\n');
    }
  }

  private draw(force: boolean): void {
    if (!this.write) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const parts = [...this.totals].map(([target, t]) => {
      const share = t.total === 0 ? 1 : t.done / t.total;
      const filled = Math.round(share * 12);
      const bar = '█'.repeat(filled) + '░'.repeat(12 - filled);
      const state = t.quarantined ? ' QUARANTINED' : t.failed > 0 ? ` ${t.failed} failed` : '';
      return `${target} ${bar} ${t.done}/${t.total}${state}`;
    });
    this.write(`\r\x1b[2K${parts.join('   ')}`);
  }
}
