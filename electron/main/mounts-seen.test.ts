/**
 * mounts-seen.json (mounts-seen.ts) over real files: what another process planted there is never followed,
 * waited on or trusted, and a save that cannot be made never fails the command that looked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MOUNTS_SEEN_FILE, MountsSeenFile } from './mounts-seen.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function home(): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-mounts-seen-')));
  dirs.push(d);
  return d;
}

describe('MountsSeenFile', () => {
  it('keeps the protected folders only, and merges what another process saved', () => {
    const h = home();
    const a = new MountsSeenFile(path.join(h, MOUNTS_SEEN_FILE), () => ['/d/A', '/d/B']);
    a.save(new Map([['/d/A', ['/d/A/x']]]));
    a.save(
      new Map([
        ['/d/B', ['/d/B/y']],
        ['/d/Gone', ['/d/Gone/z']],
      ]),
    );
    expect([...a.load()]).toEqual([
      ['/d/A', ['/d/A/x']],
      ['/d/B', ['/d/B/y']],
    ]);
  });

  it('a link planted in its place is replaced, never written through', () => {
    const h = home();
    const target = path.join(h, 'elsewhere.txt');
    fs.writeFileSync(target, "not Coffer's\n");
    const file = path.join(h, MOUNTS_SEEN_FILE);
    fs.symlinkSync(target, file);
    const store = new MountsSeenFile(file, () => ['/d/A']);
    expect(store.load().size).toBe(0);
    store.save(new Map([['/d/A', ['/d/A/x']]]));
    expect(fs.readFileSync(target, 'utf8')).toBe("not Coffer's\n");
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(store.load().get('/d/A')).toEqual(['/d/A/x']);
  });

  it('malformed content is read as nothing seen', () => {
    const h = home();
    const file = path.join(h, MOUNTS_SEEN_FILE);
    const store = new MountsSeenFile(file, () => ['/d/A']);
    for (const text of [
      '{',
      'null',
      '{"version":2,"folders":{"/d/A":["/d/A/x"]}}',
      '{"version":1,"folders":{"rel":["/x"],"/d/A":"/d/A/x"}}',
    ]) {
      fs.writeFileSync(file, text);
      expect(store.load().size, text).toBe(0);
    }
  });

  it('app data that cannot be written does not throw', () => {
    const h = home();
    const notADir = path.join(h, 'file');
    fs.writeFileSync(notADir, '');
    const store = new MountsSeenFile(path.join(notADir, MOUNTS_SEEN_FILE), () => ['/d/A']);
    expect(() => {
      store.save(new Map([['/d/A', ['/d/A/x']]]));
    }).not.toThrow();
    expect(store.load().size).toBe(0);
  });
});
