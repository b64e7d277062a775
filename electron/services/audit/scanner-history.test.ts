/**
 * ScanHistory with two real processes adding at the same moment (the CLI's scan and the app's): every
 * summary is kept; none is lost to a read-modify-write that raced another.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScanHistory } from './scanner-history.js';

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-scan-history-')));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A child that waits for `startAt` (both start together), then adds `count` summaries tagged `tag`. */
function adder(file: string, tag: string, count: number, startAt: number): Promise<number | null> {
  const script = `
    import { ScanHistory } from ${JSON.stringify(path.resolve('electron/services/audit/scanner-history.ts'))};
    const history = new ScanHistory(${JSON.stringify(file)});
    while (Date.now() < ${startAt}) {}
    for (let i = 0; i < ${count}; i++) history.add({ startedAt: '${tag}-' + i });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('ScanHistory', { timeout: 60_000 }, () => {
  it('two processes adding at once lose no summary', async () => {
    const file = path.join(dir, 'scans.json');
    const startAt = Date.now() + 4000;
    const codes = await Promise.all([adder(file, 'cli', 40, startAt), adder(file, 'app', 40, startAt)]);
    expect(codes).toEqual([0, 0]);
    const tags = new ScanHistory(file).all().map((s) => s.startedAt);
    expect(tags).toHaveLength(80);
    expect(new Set(tags).size).toBe(80);
  });
});
