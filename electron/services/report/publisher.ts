/**
 * Delivers reports to the policy's `reportDir` (docs/REPORT.md §7): after each recorded change and daily, so
 * IT holds the last state of a laptop after it is gone. A network share may be down or slow: each delivery is
 * bounded in time, fails with a clear message, is recorded on the audit trail, and is tried again later; it
 * never fails the command that caused it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { SecurityEvents } from '../audit-log/security-events.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { ReportReason } from './collect.js';
import type { ReportFile } from './report-file.js';

export const DELIVERY_TIMEOUT_MS = 5_000;
const RETRY_DELAY_MS = 400;
const DAY_MS = 24 * 60 * 60 * 1000;

export type PublishResult =
  | { readonly status: 'off' }
  | { readonly status: 'written'; readonly file: string; readonly signerKeyId: string }
  | { readonly status: 'failed'; readonly reportDir: string; readonly error: string };

export interface ReportPublisherDeps {
  /** The policy's reportDir, or undefined when it sets none. */
  readonly reportDir: () => string | undefined;
  /** Collects and signs a report. */
  readonly make: (reason: ReportReason) => Promise<ReportFile>;
  readonly events: SecurityEvents;
  /** Where the delivery state lives (`<app data>/report`). */
  readonly stateDir: string;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

interface DeliveryState {
  lastWrittenAt?: string;
  lastFailedAt?: string;
  lastError?: string;
}

/** §7: `coffer-report-<host>-<user>-<YYYY-MM-DD>.json`, anything outside A-Za-z0-9._- as `_`. */
export function reportFileName(report: ReportFile['report']): string {
  return `${reportFilePrefix(report)}${report.createdAt.slice(0, 10)}.json`;
}

/** `coffer-report-<host>-<user>-`: every file of one laptop and user in reportDir starts so. */
export function reportFilePrefix(report: Pick<ReportFile['report'], 'device'>): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
  return `coffer-report-${safe(report.device.hostname)}-${safe(report.device.user)}-`;
}

export function reportText(file: ReportFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

class Timeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${(ms / 1000).toFixed(1)} s`);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Timeout(ms));
    }, ms);
  });
  return Promise.race([work, late]).finally(() => {
    clearTimeout(timer);
  });
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Temp file in the same folder, fsync, rename, fsync of the folder; the folder must already exist. */
async function writeInto(dir: string, name: string, text: string): Promise<string> {
  const stat = await fs.promises.stat(dir);
  if (!stat.isDirectory()) throw new Error(`${dir} is not a folder`);
  const target = path.join(dir, name);
  const temp = path.join(dir, `.${name}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const handle = await fs.promises.open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, target);
  } catch (error) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  try {
    const folder = await fs.promises.open(dir, 'r');
    await folder.sync().finally(() => folder.close());
  } catch {
    // Windows and some network file systems cannot fsync a folder; the rename is done either way.
  }
  return target;
}

export class ReportPublisher {
  private readonly stateFile: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ReportPublisherDeps) {
    this.stateFile = path.join(deps.stateDir, 'delivery.json');
  }

  /** Makes a report and writes it to reportDir; never throws (a failure is the result, and an event). */
  publish(reason: ReportReason): Promise<PublishResult> {
    const run = (): Promise<PublishResult> => this.publishNow(reason);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Writes an already signed report to reportDir (`coffer report` delivers the file it printed). */
  async deliver(file: ReportFile, reason: ReportReason): Promise<PublishResult> {
    const dir = this.deps.reportDir();
    if (dir === undefined) return { status: 'off' };
    const timeoutMs = this.deps.timeoutMs ?? DELIVERY_TIMEOUT_MS;
    const started = Date.now();
    let lastError: unknown;
    // Two tries within the bound: a share that blinks is common, one that stays away is reported.
    for (let attempt = 0; attempt < 2; attempt++) {
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) break;
      try {
        const written = await withTimeout(
          writeInto(dir, reportFileName(file.report), reportText(file)),
          left,
        );
        this.saveState({ lastWrittenAt: this.now().toISOString() });
        await this.deps.events.record('report-written', {
          reportDir: dir,
          file: written,
          reason,
          signerKeyId: file.signer.keyId,
        });
        return { status: 'written', file: written, signerKeyId: file.signer.keyId };
      } catch (error) {
        lastError = error;
        if (error instanceof Timeout) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_DELAY_MS, Math.max(0, left))));
      }
    }
    return this.failed(dir, reason, describeError(lastError));
  }

  /** Whether the daily report is due: none written in the last day, or the last try failed. */
  due(): boolean {
    const state = this.readState();
    if (state.lastFailedAt !== undefined) return true;
    const last = state.lastWrittenAt === undefined ? NaN : Date.parse(state.lastWrittenAt);
    return !Number.isFinite(last) || this.now().getTime() - last >= DAY_MS;
  }

  private async publishNow(reason: ReportReason): Promise<PublishResult> {
    const dir = this.deps.reportDir();
    if (dir === undefined) return { status: 'off' };
    let file: ReportFile;
    try {
      file = await this.deps.make(reason);
    } catch (error) {
      return this.failed(dir, reason, `the report could not be made: ${describeError(error)}`);
    }
    return this.deliver(file, reason);
  }

  private async failed(dir: string, reason: ReportReason, error: string): Promise<PublishResult> {
    this.saveState({ ...this.readState(), lastFailedAt: this.now().toISOString(), lastError: error });
    await this.deps.events.record('report-failed', { reportDir: dir, reason, error });
    return { status: 'failed', reportDir: dir, error };
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private readState(): DeliveryState {
    try {
      return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as DeliveryState;
    } catch {
      return {};
    }
  }

  private saveState(state: DeliveryState): void {
    try {
      writeFileAtomic(this.stateFile, JSON.stringify(state) + '\n');
    } catch {
      // Scheduling only: without it, the next change or day simply tries again.
    }
  }
}
