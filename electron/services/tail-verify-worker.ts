/**
 * The verifier thread of tail-verify.ts: reads the file as the writer extends it and authenticates all of
 * it with the same code that decrypts files, then answers once.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { CofferError, isCofferError } from '../../crypto/errors.js';
import { decryptFrom, type ReadInto } from '../../crypto/file.js';
import { loadBackend } from '../../crypto/sodium.js';
import { READ_NOFOLLOW } from './safe-file/open.js';
import {
  GENERATION,
  HEARTBEAT,
  VERIFIER,
  WRITER,
  WRITER_ABORTED,
  type TailVerifyAnswer,
  type TailVerifyData,
} from './tail-verify.js';

const data = workerData as TailVerifyData;
const state = new Int32Array(data.state);

/** Reads `length` bytes, waiting for the writer while the file is still growing. */
function tailReader(fd: number): ReadInto {
  return (buffer, length) => {
    let got = 0;
    while (got < length) {
      const seen = Atomics.load(state, GENERATION);
      const writer = Atomics.load(state, WRITER);
      const n = readSync(fd, buffer, got, length - got, null);
      got += n;
      Atomics.add(state, HEARTBEAT, 1);
      if (n > 0) continue;
      if (writer === WRITER_ABORTED) throw new CofferError('CANCELLED', 'the write was abandoned');
      // The writer was already done before this read returned nothing: that is the real end of the file.
      if (writer !== 0) break;
      Atomics.wait(state, GENERATION, seen, 1000);
    }
    return got;
  };
}

async function verify(): Promise<TailVerifyAnswer> {
  const sodium = await loadBackend(data.backend);
  // The very file the writer writes, not whatever its name leads to by now (a link, another ciphertext
  // under the same key): authenticating another file would let the plaintext go for it.
  const fd = openSync(data.path, READ_NOFOLLOW);
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.dev !== data.written.dev || opened.ino !== data.written.ino) {
      throw new CofferError(
        'VERIFY_FAILED',
        'the file read back is not the file that was written',
        'Try again; the original was kept.',
      );
    }
    const metadata = decryptFrom(sodium, tailReader(fd), null, data.identities);
    return { ok: true, metadata };
  } catch (error) {
    if (isCofferError(error))
      return { ok: false, code: error.code, message: error.message, hint: error.hint };
    return {
      ok: false,
      code: 'VERIFY_FAILED',
      message: String(error),
      hint: 'Report this as a bug; the original was kept.',
    };
  } finally {
    closeSync(fd);
    for (const identity of data.identities)
      sodium.zero(identity.kind === 'device' ? identity.key : identity.secretKey);
  }
}

parentPort?.once('message', ({ port }: { port: MessagePort }) => {
  void verify().then((answer) => {
    port.postMessage(answer);
    Atomics.store(state, VERIFIER, 1);
    Atomics.notify(state, VERIFIER);
  });
});
