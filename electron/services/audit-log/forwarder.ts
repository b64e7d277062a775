/**
 * Sends the audit trail to the organization's collector (policy `auditForward`, an https:// URL) as JSON
 * lines, one record a line, each with its `seq` so that the receiver drops duplicates: a batch the collector
 * stored but whose answer was lost is sent again, never skipped.
 *
 * The spool is the log itself: what is not yet acknowledged is every record after the cursor
 * (`audit/forwarded.json`, written after each 2xx). So nothing is lost while offline, across restarts, or
 * when a process dies mid-send. The spool is bounded (`maxPending` records): beyond it the oldest pending
 * records are not sent, and both the collector (a `forward-dropped` line naming the seq range) and the local
 * log (an `audit-forward-dropped` record) say so.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { AuditLog } from './audit-log.js';
import type { AuditRecord } from './record.js';

export const FORWARD_DROPPED = 'audit-forward-dropped';

export interface ForwarderDeps {
  log: AuditLog;
  /** The collector (policy auditForward); undefined = forwarding off. */
  url: () => string | undefined;
  /** Names this laptop in each line (the device key ID, or the host name). */
  source: string;
  /** Extra CA certificates (PEM) to trust, besides the system's (tests' self-signed collector). */
  ca?: string;
  /** Records per POST (default 200). */
  batch?: number;
  /** The most pending records kept for sending (default 10 000). */
  maxPending?: number;
  /** One POST's time limit (default 10 s). */
  timeoutMs?: number;
}

export interface ForwardResult {
  /** Records acknowledged by this call. */
  sent: number;
  /** Records left out because the spool was over its bound. */
  dropped: number;
  /** Records still waiting (the collector failed). */
  pending: number;
  /** Why sending stopped, when it did. */
  error?: string;
}

interface Cursor {
  /** The highest seq the collector acknowledged (or that was dropped). */
  seq: number;
}

export class AuditForwarder {
  private readonly cursorFile: string;
  private running: Promise<ForwardResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(private readonly deps: ForwarderDeps) {
    this.cursorFile = path.join(path.dirname(deps.log.logFile), 'forwarded.json');
  }

  private readCursor(): Cursor {
    try {
      const value = JSON.parse(fs.readFileSync(this.cursorFile, 'utf8')) as Partial<Cursor>;
      return { seq: Number.isSafeInteger(value.seq) ? (value.seq as number) : 0 };
    } catch {
      return { seq: 0 };
    }
  }

  /** The records not yet acknowledged. */
  pending(): AuditRecord[] {
    const { seq } = this.readCursor();
    return this.deps.log.read().filter((r) => r.seq > seq);
  }

  /** Sends what is pending; one run at a time per process. Never throws: the result says what happened. */
  flush(): Promise<ForwardResult> {
    this.running ??= this.send().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Keeps sending in the background: now, after each `poke()` (a new record), and after a failure with a
   * growing delay (1 s doubling up to 5 min) until the collector answers again.
   */
  start(): void {
    this.schedule(0);
  }

  poke(): void {
    if (this.timer !== null && this.failures === 0) return; // already due
    if (this.failures === 0) this.schedule(0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().then((r) => {
        if (r.error !== undefined) {
          this.failures += 1;
          this.schedule(Math.min(1000 * 2 ** (this.failures - 1), 300_000));
        } else {
          this.failures = 0;
        }
      });
    }, ms);
    this.timer.unref();
  }

  private async send(): Promise<ForwardResult> {
    const url = this.deps.url();
    const result: ForwardResult = { sent: 0, dropped: 0, pending: 0 };
    if (url === undefined) return result;
    let pending = this.pending();
    const max = this.deps.maxPending ?? 10_000;
    const lines: string[] = [];
    if (pending.length > max) {
      const dropped = pending.slice(0, pending.length - max);
      const first = dropped[0]?.seq ?? 0;
      const last = dropped.at(-1)?.seq ?? 0;
      result.dropped = dropped.length;
      pending = pending.slice(dropped.length);
      // Told to the collector first (it sees the gap is known), and kept in the local log.
      lines.push(
        JSON.stringify({ source: this.deps.source, type: 'forward-dropped', from: first, to: last }),
      );
      this.writeCursor(last);
      try {
        await this.deps.log.append(FORWARD_DROPPED, { from: first, to: last, count: dropped.length });
      } catch {
        // the log is what is failing; the collector still hears about the gap
      }
    }
    const size = this.deps.batch ?? 200;
    for (let at = 0; at < pending.length || lines.length > 0; at += size) {
      const chunk = pending.slice(at, at + size);
      const body = [
        ...lines.splice(0),
        ...chunk.map((r) => JSON.stringify({ source: this.deps.source, ...r })),
      ].join('\n');
      try {
        await this.post(url, `${body}\n`);
      } catch (error) {
        result.pending = pending.length - at;
        result.error = error instanceof Error ? error.message : String(error);
        return result;
      }
      const last = chunk.at(-1);
      if (last) this.writeCursor(last.seq);
      result.sent += chunk.length;
    }
    return result;
  }

  private writeCursor(seq: number): void {
    writeFileAtomic(this.cursorFile, JSON.stringify({ seq }) + '\n');
  }

  private post(url: string, body: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'https:') {
        reject(new CofferError('POLICY_INVALID', 'auditForward must be an https:// URL'));
        return;
      }
      const request = https.request(
        target,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) },
          timeout: this.deps.timeoutMs ?? 10_000,
          ...(this.deps.ca === undefined ? {} : { ca: this.deps.ca }),
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`the collector answered HTTP ${status}`));
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error('the collector did not answer in time')));
      request.on('error', reject);
      request.end(body);
    });
  }
}
