/** A byte progress bar on stderr, only when stderr is a terminal (never in logs or pipes). */
import cliProgress from 'cli-progress';

export interface ByteProgress {
  /** Adds the bytes done since the last call for the current item. */
  track(): (bytesDone: number) => void;
  stop(): void;
}

const none: ByteProgress = { track: () => () => undefined, stop: () => undefined };

export function byteProgress(totalBytes: number, stream: NodeJS.WriteStream = process.stderr): ByteProgress {
  // Only long work earns a bar: under 32 MiB it would flash and vanish.
  if (!stream.isTTY || totalBytes < 32 * 1024 * 1024) return none;
  const bar = new cliProgress.SingleBar(
    { stream, format: '{bar} {percentage}% | {done}/{all} MiB | ETA {eta_formatted}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const mib = (n: number): string => (n / 1048576).toFixed(0);
  let base = 0;
  let lastRender = 0;
  bar.start(totalBytes, 0, { done: '0', all: mib(totalBytes) });
  return {
    track: () => {
      const start = base;
      return (bytesDone) => {
        base = start + bytesDone;
        const now = Date.now();
        // The file work is synchronous, so the bar's own timer never runs: render from here, throttled.
        if (now - lastRender > 100) {
          lastRender = now;
          bar.update(base, { done: mib(base) });
          bar.render();
        }
      };
    },
    stop: () => {
      bar.update(base, { done: mib(base) });
      bar.stop();
    },
  };
}

/** Bytes as MiB with one decimal, as the CLI's run lines print them. */
export const mib = (n: number): string => (n / 1048576).toFixed(1);

/** What a folder run or a rotation reports as it goes (RunProgress, RotationProgress). */
export interface FilesProgress {
  readonly filesTotal: number;
  readonly filesDone: number;
  readonly bytesTotal: number;
  readonly bytesDone: number;
  readonly bytesPerSecond: number;
  readonly etaMs: number | null;
}

export interface FilesBar {
  readonly update: (progress: FilesProgress) => void;
  readonly stop: () => void;
}

/** A files bar on stderr (counts, MiB, rate, ETA), only on a terminal and never with --json. */
export function filesBar(verb: string, json: boolean, stream: NodeJS.WriteStream = process.stderr): FilesBar {
  if (!stream.isTTY || json) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${verb} {bar} {value}/{total} files | {done}/{all} MiB | {rate} MiB/s | ETA {eta}s`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = {
        done: mib(p.bytesDone),
        all: mib(p.bytesTotal),
        rate: mib(p.bytesPerSecond),
        eta: p.etaMs === null ? '?' : Math.ceil(p.etaMs / 1000),
      };
      if (!started) bar.start(p.filesTotal, p.filesDone, payload);
      else bar.update(p.filesDone, payload);
      started = true;
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
