/**
 * PDF text, bounded from outside. PDF.js (pdf-read.ts) inflates a stream whole and without a size limit and
 * parses synchronously: a 0.5 MB PDF whose content stream inflates to 512 MiB of spaces took 1.1 GB of
 * memory (array buffers, outside the worker's heap limit) and 13 s against a 3 s time limit, which a timer
 * in the same thread cannot enforce. So PDF.js runs in a worker thread of its own, one file at a time, and is
 * terminated (even mid-loop) when the file overruns its time or when the process's memory grows by more than
 * `maxPdfMemoryBytes` while it reads. The worker is kept for the next PDF unless it was terminated.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-start.js';
import type { ExtractLimits, ExtractResult } from './index.js';
import type { PdfRequest } from './pdf-worker.js';

/** Between two looks at the process's memory. */
const WATCH_MS = 25;

const TOO_LONG = 'took too long to read';

/** PDF.js's own objects (its buffers are outside the heap: the memory watch covers those). */
const HEAP = { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 16 };

function isResult(value: unknown): value is ExtractResult {
  return typeof value === 'object' && value !== null && 'ok' in value;
}

class PdfIsolate {
  private worker: Worker | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Reads one PDF; calls are served one at a time. */
  read(data: Uint8Array, limits: ExtractLimits, deadline: number): Promise<ExtractResult> {
    const next = this.queue.then(() => this.readNow(data, limits, deadline));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private readNow(data: Uint8Array, limits: ExtractLimits, deadline: number): Promise<ExtractResult> {
    const remainingMs = deadline - performance.now();
    if (remainingMs <= 0) {
      data.fill(0);
      return Promise.resolve({ ok: false, reason: TOO_LONG });
    }
    const worker = (this.worker ??= startWorker(import.meta.url, 'pdf-worker', undefined, HEAP));
    worker.ref();
    return new Promise<ExtractResult>((resolve) => {
      const baseline = process.memoryUsage.rss();
      const finish = (result: ExtractResult, kill: boolean): void => {
        clearTimeout(timer);
        clearInterval(watch);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (kill) {
          this.worker = undefined;
          void worker.terminate();
        } else {
          worker.unref(); // an idle PDF worker does not keep the process alive
        }
        resolve(result);
      };
      const onMessage = (message: unknown): void => {
        if (isResult(message)) finish(message, false);
        else finish({ ok: false, reason: 'the PDF could not be read (unexpected answer)' }, true);
      };
      const onError = (error: Error): void => {
        finish({ ok: false, reason: `the PDF could not be read (${error.message})` }, true);
      };
      const onExit = (): void => {
        finish({ ok: false, reason: 'the PDF could not be read (its reader stopped)' }, true);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      // The worker also checks the deadline between pages; this ends it when a synchronous parse overruns.
      const timer = setTimeout(() => {
        finish({ ok: false, reason: TOO_LONG }, true);
      }, remainingMs + 250);
      const watch = setInterval(() => {
        if (process.memoryUsage.rss() - baseline > limits.maxPdfMemoryBytes)
          finish({ ok: false, reason: 'it needs too much memory to read: possibly a PDF bomb' }, true);
      }, WATCH_MS);
      const request: PdfRequest = { data, limits, remainingMs };
      // Moved, not copied: the worker wipes it when done (pdf-read.ts).
      worker.postMessage(request, [data.buffer as ArrayBuffer]);
    });
  }
}

const isolate = new PdfIsolate();

export function pdfText(bytes: Uint8Array, limits: ExtractLimits, deadline: number): Promise<ExtractResult> {
  // A copy of its own, moved to the worker; the caller wipes its bytes (the plaintext of a protected file).
  return isolate.read(new Uint8Array(bytes), limits, deadline);
}
