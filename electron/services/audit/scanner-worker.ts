/**
 * A data-audit pool worker: reads batches of files (scanner-read.ts), takes their text (D1's extractors) and
 * counts findings or looks for terms (D1's detectors). Answers with counts and term positions only. Started
 * by pool.ts; talks only through pool-messages.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isCofferError } from '../../../crypto/errors.js';
import type { Identity } from '../../../crypto/keys.js';
import { loadBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import {
  FindingCounter,
  FindStream,
  countFindings,
  makeDetectors,
  makeFinder,
  type Detectors,
  type Finder,
} from './detectors/index.js';
import {
  DEFAULT_LIMITS,
  TextStreamDecoder,
  extractKind,
  extractText,
  isStreamable,
  type ExtractKind,
} from './extract/index.js';
import {
  HEARTBEAT_COUNT,
  HEARTBEAT_FILE,
  PROGRESS_INTERVAL_MS,
  type AuditWorkerData,
  type FromAuditWorker,
  type ToAuditWorker,
  type WorkFile,
  type WorkOutcome,
} from './scanner-messages.js';
import { changedError, readPlain, readProtected, type ReadHooks } from './scanner-read.js';
import { contentName } from './content-name.js';

interface Run {
  readonly id: number;
  readonly identities: readonly Identity[];
  readonly cancel: Int32Array;
  readonly detectors: Detectors | null;
  readonly finder: Finder | null;
}

/** The extractor a file's (inner) name calls for; undefined: only its name is read (find) or nothing (scan). */
function kindOf(file: WorkFile): ExtractKind | undefined {
  return extractKind(contentName(file.path));
}

function reasonOf(error: unknown, path: string): { code: string; reason: string } {
  // The report names the path once; messages made for a log line start with it.
  const plain = (message: string): string =>
    message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
  if (isCofferError(error)) return { code: error.code, reason: plain(error.message) };
  return { code: 'READ_FAILED', reason: error instanceof Error ? error.message : String(error) };
}

/** Streams a file's bytes through the text decoder into `onText`; the decoder's failure means "not text". */
function streamText(
  read: (hooks: ReadHooks) => void,
  hooks: Omit<ReadHooks, 'onChunk'>,
  onText: (text: string) => boolean,
): string | undefined {
  const decoder = new TextStreamDecoder();
  // Read through a function: the decoder sets it during push/end, which narrowing cannot see.
  const failure = (): string | undefined => decoder.failure;
  const state = { more: true };
  read({
    ...hooks,
    onChunk: (bytes) => {
      // No copy here: the reader's buffer is reused (and, for a protected file, wiped) after this call, and
      // the decoder copies what it keeps (the first bytes, until it knows the encoding; a cut character).
      const text = decoder.push(bytes);
      if (failure() !== undefined) return false;
      if (text.length > 0) state.more = onText(text);
      return state.more;
    },
  });
  if (failure() !== undefined) return failure();
  if (state.more) {
    const rest = decoder.end();
    if (failure() !== undefined) return failure();
    if (rest.length > 0) onText(rest);
  }
  return undefined;
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('scanner-worker.ts must run as a worker thread');
  const post = (message: FromAuditWorker): void => {
    port.postMessage(message);
  };
  const { backend, heartbeat: beatMemory } = workerData as AuditWorkerData;
  const heartbeat = new Int32Array(beatMemory);
  // Loaded for the first protected file: a scan of files in the clear never needs it, and loading it was a
  // fifth of a worker's start-up (measured).
  let loaded: SodiumBackend | null = null;
  const loadSodium = async (): Promise<SodiumBackend> => (loaded ??= await loadBackend(backend));
  let run: Run | null = null;
  // Batches run one at a time, in order: each awaits the extractors of its files.
  let queue: Promise<void> = Promise.resolve();

  /** The whole content (formats read whole: documents, PDFs), within the extractors' input limit. */
  const readWhole = (
    file: WorkFile,
    current: Run,
    sodium: SodiumBackend | null,
    hooks: Omit<ReadHooks, 'onChunk'>,
  ): { bytes: Uint8Array; modifiedMs: number } | { failure: string } => {
    const limit = DEFAULT_LIMITS.maxInputBytes;
    const tooLarge = { failure: `too large to read (over ${limit / 1024 / 1024} MiB)` };
    let whole = new Uint8Array(0);
    let at = 0;
    const onChunk = (bytes: Uint8Array): boolean => {
      // The listed size (or the metadata's) bounds the content; more means the file changed under us.
      if (at + bytes.length > whole.length) throw changedError(file.path);
      whole.set(bytes, at);
      at += bytes.length;
      return true;
    };
    if (sodium) {
      const size = { over: false };
      const metadata = readProtected(sodium, file, current.identities, {
        ...hooks,
        onMetadata: (m) => {
          size.over = m.size > limit;
          if (!size.over) whole = new Uint8Array(m.size);
          return !size.over;
        },
        onChunk,
      });
      if (size.over) return tooLarge;
      return { bytes: whole.subarray(0, at), modifiedMs: metadata.mtimeMs };
    }
    if (file.size > limit) return tooLarge;
    whole = new Uint8Array(file.size);
    readPlain(file, { ...hooks, onChunk });
    return { bytes: whole.subarray(0, at), modifiedMs: file.mtimeMs };
  };

  /** The file's text, piece by piece, to `onText` (false: enough); `failure` says why there is none. */
  const withText = async (
    file: WorkFile,
    current: Run,
    hooks: Omit<ReadHooks, 'onChunk'>,
    onText: (text: string) => boolean,
  ): Promise<{ modifiedMs: number; failure?: string }> => {
    const kind = kindOf(file);
    if (kind === undefined) return { modifiedMs: file.mtimeMs, failure: 'not a file type the audit reads' };
    // Set exactly for a protected file: the readers below decrypt when it is there.
    const sodium = file.protected ? await loadSodium() : null;
    if (isStreamable(kind)) {
      let modifiedMs = file.mtimeMs;
      const readFile = (h: ReadHooks): void => {
        if (sodium) modifiedMs = readProtected(sodium, file, current.identities, h).mtimeMs;
        else readPlain(file, h);
      };
      const failure = streamText(readFile, hooks, onText);
      return failure === undefined ? { modifiedMs } : { modifiedMs, failure };
    }
    const whole = readWhole(file, current, sodium, hooks);
    if ('failure' in whole) return { modifiedMs: file.mtimeMs, failure: whole.failure };
    try {
      const result = await extractText(whole.bytes, contentName(file.path), DEFAULT_LIMITS);
      if (!result.ok) return { modifiedMs: whole.modifiedMs, failure: result.reason };
      onText(result.text);
      return { modifiedMs: whole.modifiedMs };
    } finally {
      sodium?.zero(whole.bytes);
    }
  };

  const scanOne = async (
    file: WorkFile,
    current: Run,
    hooks: Omit<ReadHooks, 'onChunk'>,
  ): Promise<WorkOutcome> => {
    const detectors = current.detectors;
    if (!detectors) throw new Error('a scan batch in a find run');
    const counter = new FindingCounter(detectors);
    const kind = kindOf(file);
    const streamed = kind !== undefined && isStreamable(kind);
    // Streamed kinds go through the counter; a document's whole text is counted at once.
    const whole: { counts: Record<string, number> | null } = { counts: null };
    const { modifiedMs, failure } = await withText(file, current, hooks, (text) => {
      if (streamed) counter.push(text);
      else whole.counts = countFindings(text, detectors);
      return true;
    });
    if (failure !== undefined) return { path: file.path, kind: 'content', code: 'NO_TEXT', reason: failure };
    return { path: file.path, kind: 'scanned', findings: whole.counts ?? counter.end(), modifiedMs };
  };

  const findOne = async (
    file: WorkFile,
    current: Run,
    hooks: Omit<ReadHooks, 'onChunk'>,
  ): Promise<WorkOutcome> => {
    const finder = current.finder;
    if (!finder) throw new Error('a find batch in a scan run');
    const inName = new FindStream(finder);
    inName.name(contentName(file.path));
    const inContent = new FindStream(finder);
    if (kindOf(file) !== undefined) {
      const { failure } = await withText(file, current, hooks, (text) => {
        inContent.push(text);
        return !inContent.complete;
      });
      // A file whose content cannot be read still matches by name; otherwise it is reported as not read.
      if (failure !== undefined && inName.matched().length === 0)
        return { path: file.path, kind: 'content', code: 'NO_TEXT', reason: failure };
    }
    const positions = (stream: FindStream): number[] => stream.matched().map((t) => finder.terms.indexOf(t));
    return { path: file.path, kind: 'found', inName: positions(inName), inContent: positions(inContent) };
  };

  const runBatch = async (message: Extract<ToAuditWorker, { type: 'batch' }>): Promise<void> => {
    const current = run;
    const outcomes: WorkOutcome[] = [];
    let pendingBytes = 0;
    let lastSent = Date.now();
    const onBytes = (bytes: number): void => {
      Atomics.add(heartbeat, HEARTBEAT_COUNT, 1);
      pendingBytes += bytes;
      const now = Date.now();
      if (now - lastSent >= PROGRESS_INTERVAL_MS) {
        post({ type: 'progress', batchId: message.batchId, bytes: pendingBytes });
        pendingBytes = 0;
        lastSent = now;
      }
    };
    for (const [index, file] of message.files.entries()) {
      Atomics.store(heartbeat, HEARTBEAT_FILE, index);
      Atomics.add(heartbeat, HEARTBEAT_COUNT, 1);
      const cancelled = (): boolean => current === null || Atomics.load(current.cancel, 0) !== 0;
      if (!current || current.id !== message.runId || cancelled()) {
        outcomes.push({ path: file.path, kind: 'cancelled' });
        continue;
      }
      const hooks = { onBytes, cancelled };
      try {
        outcomes.push(
          current.finder ? await findOne(file, current, hooks) : await scanOne(file, current, hooks),
        );
      } catch (error) {
        const { code, reason } = reasonOf(error, file.path);
        outcomes.push(
          code === 'CANCELLED'
            ? { path: file.path, kind: 'cancelled' }
            : { path: file.path, kind: 'error', code, reason },
        );
      }
    }
    if (pendingBytes > 0) post({ type: 'progress', batchId: message.batchId, bytes: pendingBytes });
    post({ type: 'batch-done', batchId: message.batchId, outcomes });
  };

  port.on('message', (message: ToAuditWorker) => {
    queue = queue.then(async () => {
      try {
        switch (message.type) {
          case 'run-start':
            run = {
              id: message.runId,
              identities: message.identities,
              cancel: new Int32Array(message.cancel),
              detectors: message.mode.op === 'scan' ? makeDetectors(message.mode.patterns) : null,
              finder: message.mode.op === 'find' ? makeFinder(message.mode.terms) : null,
            };
            break;
          case 'batch':
            await runBatch(message);
            break;
          case 'run-end': {
            if (run && run.id === message.runId) {
              for (const identity of run.identities) {
                const key = identity.kind === 'device' ? identity.key : identity.secretKey;
                if (loaded) loaded.zero(key);
                else key.fill(0); // never used: no protected file came
              }
              run = null;
            }
            post({ type: 'run-ended', runId: message.runId });
            break;
          }
        }
      } catch (error) {
        post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  post({ type: 'ready' });
}

try {
  main();
} catch (error) {
  parentPort?.postMessage({
    type: 'error',
    message: error instanceof Error ? error.message : String(error),
  } satisfies FromAuditWorker);
}
