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
