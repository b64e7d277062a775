/**
 * When the app sends reports to reportDir (docs/REPORT.md §7): a few seconds after a recorded change (a burst
 * of events gives one report), and an hourly check that sends the daily report, or retries one that failed.
 * Timers never keep the process alive; stop() waits for a report being written.
 */
import type { ReportSigningKey } from './signing-key.js';
import { collectReport, type ReportReason, type ReportSources } from './collect.js';
import { signReport, type ReportFile } from './report-file.js';
import type { PublishResult, ReportPublisher } from './publisher.js';

/** Collects the body and signs it with this account's report key. */
export async function makeSignedReport(
  sources: ReportSources,
  key: ReportSigningKey,
  reason: ReportReason,
): Promise<ReportFile> {
  const body = await collectReport(sources, reason);
  return key.use((sign) => signReport(body, sign));
}

export interface ReportScheduleOptions {
  readonly changeDelayMs?: number;
  readonly checkEveryMs?: number;
  /** A failed delivery or report, for the app's log (the audit trail has it too). */
  readonly log: (line: string) => void;
}

export class ReportSchedule {
  private changeTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly publisher: Pick<ReportPublisher, 'publish' | 'due'>,
    private readonly options: ReportScheduleOptions,
  ) {}

  start(): void {
    const every = this.options.checkEveryMs ?? 60 * 60 * 1000;
    this.checkTimer = setInterval(() => {
      if (this.publisher.due()) this.run('daily');
    }, every);
    this.checkTimer.unref();
    // At start too: a laptop that was off for days reports as soon as it is on.
    if (this.publisher.due()) this.run('daily');
  }

  /** A security event was recorded: report once things settle. */
  noteChange(): void {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      this.run('change');
    }, this.options.changeDelayMs ?? 5_000);
    this.changeTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.changeTimer = this.checkTimer = null;
    await this.running;
  }

  private run(reason: ReportReason): void {
    const next = this.running.then(() => this.publisher.publish(reason));
    this.running = next.then(
      (result: PublishResult) => {
        if (result.status === 'failed')
          this.options.log(`report to ${result.reportDir} failed: ${result.error}`);
      },
      (error: unknown) => {
        this.options.log(`report failed: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
  }
}
