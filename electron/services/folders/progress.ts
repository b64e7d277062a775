/**
 * Turns per-file outcomes and byte counts into RunProgress events: totals, throughput, ETA; throttled.
 * A streamed run learns its totals as its walk goes (grow); no ETA is given until the walk is over.
 */
import type { Op, RunProgress } from './types.js';

export class ProgressTracker {
  filesDone = 0;
  bytesDone = 0;
  private current: string | null = null;
  private readonly started: number;
  private lastEmit = 0;

  constructor(
    private readonly op: Op,
    private filesTotal: number,
    private bytesTotal: number,
    private readonly emit: ((progress: RunProgress) => void) | undefined,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = this.now();
  }

  private walking = false;

  /** More work found by a walk still going (totals grow; the ETA waits for `walked`). */
  grow(files: number, bytes: number): void {
    this.walking = true;
    this.filesTotal += files;
    this.bytesTotal += bytes;
  }

  /** The walk is over: the totals are final. */
  walked(): void {
    this.walking = false;
  }

  bytes(n: number, path: string): void {
    this.bytesDone += n;
    this.current = path;
    this.maybeEmit(false);
  }

  file(path: string): void {
    this.filesDone++;
    this.current = path;
    this.maybeEmit(false);
  }

  finish(): void {
    this.maybeEmit(true);
  }

  snapshot(): RunProgress {
    const elapsed = (this.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.bytesDone / elapsed : 0;
    // Small files cost per file, not per byte: estimate from whichever fraction is further along.
    const fraction = Math.max(
      this.bytesTotal > 0 ? this.bytesDone / this.bytesTotal : 0,
      this.filesTotal > 0 ? this.filesDone / this.filesTotal : 0,
    );
    const etaMs =
      !this.walking && elapsed > 0.5 && fraction > 0.01
        ? Math.round(((1 - fraction) / fraction) * elapsed * 1000)
        : null;
    return {
      op: this.op,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      bytesDone: Math.min(this.bytesDone, this.bytesTotal),
      bytesTotal: this.bytesTotal,
      current: this.current,
      bytesPerSecond: Math.round(rate),
      etaMs,
    };
  }

  private maybeEmit(force: boolean): void {
    if (!this.emit) return;
    const t = this.now();
    if (!force && t - this.lastEmit < this.intervalMs) return;
    this.lastEmit = t;
    this.emit(this.snapshot());
  }
}
