/**
 * The client side of a question-and-answer worker thread (keys/coverage-counter.ts, folders/busy-check.ts):
 * numbered questions, each answered once by the reply that carries its number; the worker started on the
 * first question (or at once, `warm`) and again after it died; a worker that dies or a client that closes
 * fails every question still waiting, so none hangs. The worker keeps the process alive only while a
 * question waits (ref/unref), so an idle client never holds the app open.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from './worker-start.js';

export interface WorkerClientSpec<Reply, Answer> {
  /** `import.meta.url` of a module beside the worker's entry file, and that file's name (worker-start.ts). */
  readonly callerUrl: string;
  readonly entry: string;
  /** What the errors say: `${client} closed`, `${workerName} exited (code N)`. */
  readonly client: string;
  readonly workerName: string;
  /** The answer a reply carries, or the error it reports. */
  readonly answer: (reply: Reply) => Answer | Error;
}

export class WorkerClient<
  Question extends { readonly id: number },
  Reply extends { readonly id: number },
  Answer,
> {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly spec: WorkerClientSpec<Reply, Answer>,
    warm: boolean,
  ) {
    if (warm) this.start();
  }

  /** Posts the question `make` builds around its number; resolves with the answer to it. */
  ask(make: (id: number) => Question): Promise<Answer> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const worker = this.start();
      worker.ref();
      worker.postMessage(make(id));
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.fail(new Error(`${this.spec.client} closed`));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(this.spec.callerUrl, this.spec.entry, {});
    worker.unref();
    worker.on('message', (message: Reply) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (this.waiting.size === 0) worker.unref();
      const answer = this.spec.answer(message);
      if (answer instanceof Error) waiter?.reject(answer);
      else waiter?.resolve(answer);
    });
    const lost = (error: Error): void => {
      // A worker already replaced or closed has no question of the current one to fail.
      if (this.worker !== worker) return;
      this.worker = null;
      this.fail(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      lost(new Error(`${this.spec.workerName} exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
