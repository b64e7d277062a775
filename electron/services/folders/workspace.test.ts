import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { readHeaderFd } from '../../../crypto/file.js';
import { generateDeviceKey, type Identity, type Recipient } from '../../../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { SafeFiles } from '../safe-file.js';
import { EditWorkspace, isRunnableName } from './workspace.js';
import { openSync, closeSync } from 'node:fs';

let sodium: SodiumBackend;
let key: Uint8Array;
let root: string;
const keys = {
  recipients: (): Promise<Recipient[]> => Promise.resolve([{ kind: 'device', key }]),
  identities: (): Promise<Identity[]> => Promise.resolve([{ kind: 'device', key }]),
};
beforeAll(async () => {
  sodium = await defaultBackend();
  key = generateDeviceKey(sodium);
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'coffer-ws-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function protect(name: string, text: string): string {
  const path = join(root, name);
  writeFileSync(path, text);
  return new SafeFiles(sodium).encryptInPlace(path, {
    recipients: [{ kind: 'device', key }],
    identities: [{ kind: 'device', key }],
  }).target;
}
function read(coffer: string): string {
  const out = join(root, 'check');
  new SafeFiles(sodium).decryptTo(coffer, {
    identities: [{ kind: 'device', key }],
    output: out,
    force: true,
  });
  const text = readFileSync(out, 'utf8');
  rmSync(out);
  return text;
}
function header(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    return Buffer.from(readHeaderFd(fd));
  } finally {
    closeSync(fd);
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

it('decrypts into a 0700 workspace, encrypts edits back under a new file key, and wipes on close', async () => {
  const source = protect('Notes.txt', 'v1');
  const before = header(source);
  const saved: string[] = [];
  const ws = new EditWorkspace({
    sodium,
    keys,
    dir: join(root, 'ws'),
    stableMs: 100,
    onSaved: (s) => saved.push(s.source),
  });
  const session = await ws.openFile(source);
  expect(session.editPath.endsWith('/Notes.txt')).toBe(true);
  expect(statSync(join(root, 'ws')).mode & 0o777).toBe(0o700);
  expect(readFileSync(session.editPath, 'utf8')).toBe('v1');

  writeFileSync(session.editPath, 'v2, edited');
  const end = Date.now() + 5000;
  while (saved.length === 0 && Date.now() < end) await sleep(20);
  expect(saved).toEqual([source]);
  expect(read(source)).toBe('v2, edited');
  expect(header(source).equals(before)).toBe(false); // a new file key, so a new header
  expect(readdirSync(root).sort()).toEqual(['Notes.txt.coffer', 'ws']);

  expect(await ws.close(session.id)).toEqual({ saved: false });
  expect(readdirSync(join(root, 'ws'))).toEqual([]);
});

it('at start, encrypts back a copy left by a crash if it changed, wipes the rest', async () => {
  const changed = protect('a.txt', 'a1');
  const untouched = protect('b.txt', 'b1');
  const crashed = new EditWorkspace({ sodium, keys, dir: join(root, 'ws'), stableMs: 10_000 });
  const a = await crashed.openFile(changed);
  const b = await crashed.openFile(untouched);
  writeFileSync(a.editPath, 'a2 (unsaved when the app died)');
  const bHeader = header(untouched);
  // The app "dies" (no close), mid-way through writing a manifest; a new instance starts.
  writeFileSync(join(root, 'ws', `.${a.id}.json.tmp-0123456789ab`), '{"half":');
  const next = new EditWorkspace({ sodium, keys, dir: join(root, 'ws') });
  // While the process that opened them runs, they are its live sessions, not a crash's leftovers.
  expect(await next.recover()).toEqual({ saved: [], wiped: 0 });
  expect(read(changed)).toBe('a1');
  expect(readFileSync(a.editPath, 'utf8')).toBe('a2 (unsaved when the app died)');
  // Now owned by a process that has ended (a real one, reaped): crash leftovers.
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  for (const id of [a.id, b.id]) {
    const manifest = join(root, 'ws', `${id}.json`);
    const value = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifest, JSON.stringify({ ...value, owner: { pid: dead, started: null } }));
  }
  const result = await next.recover();
  expect(result).toEqual({ saved: [changed], wiped: 2 });
  expect(read(changed)).toBe('a2 (unsaved when the app died)');
  expect(header(untouched).equals(bHeader)).toBe(true);
  expect(readdirSync(join(root, 'ws'))).toEqual([]);
  expect(existsSync(b.editPath)).toBe(false);
  await crashed.closeAll().catch(() => undefined); // its watchers; the copies are gone already
});

it('opens under the name the user sees, never executable; programs and scripts are flagged runnable', async () => {
  // Written as `invoice.exe`, mode 755, then renamed: the folder shows "Q3-report.pdf".
  const path = join(root, 'invoice.exe');
  writeFileSync(path, 'MZ not really a program');
  chmodSync(path, 0o755);
  const written = new SafeFiles(sodium).encryptInPlace(path, {
    recipients: [{ kind: 'device', key }],
    identities: [{ kind: 'device', key }],
  }).target;
  const shown = join(root, 'Q3-report.pdf.coffer');
  renameSync(written, shown);
  const script = protect('cleanup.sh', 'rm -rf ~\n');
  const notes = protect('Notes.txt', 'plain notes');

  const ws = new EditWorkspace({ sodium, keys, dir: join(root, 'ws'), stableMs: 50 });
  const pdf = await ws.openFile(shown);
  expect(basename(pdf.editPath)).toBe('Q3-report.pdf');
  expect(readFileSync(pdf.editPath, 'utf8')).toBe('MZ not really a program');
  expect(statSync(pdf.editPath).mode & 0o777).toBe(0o600);
  expect(pdf.runnable).toBe(true); // stored with exec bits
  const sh = await ws.openFile(script);
  expect(basename(sh.editPath)).toBe('cleanup.sh');
  expect(sh.runnable).toBe(true); // a script by its type
  expect(statSync(sh.editPath).mode & 0o111).toBe(0);
  const txt = await ws.openFile(notes);
  expect(txt.runnable).toBe(false);
  expect(ws.sessions().map((s) => s.runnable)).toEqual([true, true, false]);
  await ws.closeAll();

  for (const name of ['a.EXE', 'b.bat', 'c.ps1', 'd.app', 'e.js', 'f.vbs', 'g.jar', 'h.msi', 'i.command'])
    expect(isRunnableName(name), name).toBe(true);
  for (const name of ['a.pdf', 'b.docx', 'c.txt', 'README', 'd.xlsx'])
    expect(isRunnableName(name), name).toBe(false);
});
