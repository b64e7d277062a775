/** What both benchmarks need: a measured child process, medians, Coffer test keys and an age identity. */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDeviceKey, generateRecoveryKeyPair } from '../crypto/keys.js';
import type { SodiumBackend } from '../crypto/sodium.js';

export interface Measured {
  /** Wall time of the whole child, start-up included. */
  readonly seconds: number;
  readonly rssMB: number;
  /** The child's last line of output (the measured programs print their own timings there as JSON). */
  readonly lastLine: string;
}

/**
 * Runs a command under /usr/bin/time for its peak RSS. Not the child's own maxRSS: on Linux that inherits
 * the high-water mark of the process that forked it (this one), which would overstate it.
 */
export function measured(command: string, argv: readonly string[]): Measured {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...argv], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed: ${result.stderr}`);
  const rssKB = Number(result.stderr.trim().split('\n').at(-1));
  return { seconds, rssMB: rssKB / 1024, lastLine: result.stdout.trim().split('\n').at(-1) ?? '' };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** A device key and a recovery public key, as the measured programs read them (a real file has both stanzas). */
export function writeBenchKeys(sodium: SodiumBackend, path: string): void {
  writeFileSync(
    path,
    JSON.stringify({
      device: Buffer.from(generateDeviceKey(sodium)).toString('hex'),
      recoveryPublic: Buffer.from(generateRecoveryKeyPair(sodium).publicKey).toString('hex'),
    }),
  );
}

/** An age identity in `dir` and its recipient, or null (with a note) when age is not installed. */
export function ageIdentity(dir: string): { identity: string; recipient: string } | null {
  if (spawnSync('age', ['--version']).status !== 0) {
    console.log('NOTE: `age` is not installed (apt-get install age): no age rows, ratios against cp only.');
    return null;
  }
  const identity = join(dir, 'age-identity.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  return { identity, recipient: execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim() };
}
