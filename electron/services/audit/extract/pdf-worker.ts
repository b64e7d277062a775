/**
 * The PDF worker's entry (started by pdf.ts): reads one PDF at a time with PDF.js and posts its text back.
 * PDF.js parses synchronously for seconds at a time and inflates streams without a size limit, so it runs
 * here, where pdf.ts can end it (Worker.terminate interrupts even a synchronous loop).
 */
import { parentPort } from 'node:worker_threads';
import type { ExtractLimits } from './index.js';
import { readPdf } from './pdf-read.js';

export interface PdfRequest {
  readonly data: Uint8Array;
  readonly limits: ExtractLimits;
  /** Time left for this file, in ms (clocks are not shared between threads). */
  readonly remainingMs: number;
}

const port = parentPort;
if (port === null) throw new Error('pdf-worker.ts runs as a worker thread');
port.on('message', (request: PdfRequest) => {
  void readPdf(request.data, request.limits, performance.now() + request.remainingMs)
    .catch((error: unknown) => ({
      ok: false as const,
      reason: `the PDF could not be read (${error instanceof Error ? error.message : String(error)})`,
    }))
    .then((result) => {
      port.postMessage(result);
    });
});
