/**
 * R6 review helper: protects files with SafeFiles in a child process (so a hang is a timeout the test sees,
 * not a frozen test runner) and prints one JSON line with each file's outcome and what settle() rescued.
 * argv[2]: JSON { paths, roots?, key (hex), journalDir?, fifoBeforeRemoval? (a path replaced by a FIFO
 * just before the removals: the moment the busy probe runs), batch? (files per call) }.
 */
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { defaultBackend } from '../../crypto/sodium.js';
import {
  SafeFiles,
  TempJournal,
  defaultProbe,
  type OpenFileProbe,
} from '../../electron/services/safe-file.js';

interface Job {
  paths: string[];
  roots?: string[];
  key: string;
  journalDir?: string;
  fifoBeforeRemoval?: string;
  batch?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const sodium = await defaultBackend();
const key = new Uint8Array(Buffer.from(job.key, 'hex'));
const real = defaultProbe();
const probe: OpenFileProbe = {
  holders(files) {
    if (job.fifoBeforeRemoval) {
      renameSync(job.fifoBeforeRemoval, `${job.fifoBeforeRemoval}.moved`);
      execFileSync('mkfifo', [job.fifoBeforeRemoval]);
    }
    return real.holders(files);
  },
};
const files = new SafeFiles(sodium, {
  probe,
  ...(job.journalDir ? { tempJournal: new TempJournal(job.journalDir) } : {}),
});
const outcomes: { path: string; ok: boolean; code?: string }[] = [];
const size = job.batch ?? job.paths.length;
for (let i = 0; i < job.paths.length; i += size) {
  const paths = job.paths.slice(i, i + size);
  const results = files.encryptManyInPlace(paths, {
    recipients: [{ kind: 'device', key }],
    identities: [{ kind: 'device', key }],
    ...(job.roots ? { roots: job.roots } : {}),
  });
  results.forEach((r, j) =>
    outcomes.push(
      r.ok ? { path: paths[j] ?? '', ok: true } : { path: paths[j] ?? '', ok: false, code: r.error.code },
    ),
  );
}
const rescued = files.settle();
process.stdout.write(JSON.stringify({ outcomes, rescued }) + '\n');
