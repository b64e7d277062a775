/**
 * The Activity log as listed and exported (issue 12 item 6): the entries the app really records (a real
 * ActivityLog file) come out with folder paths instead of IDs, words instead of errno and `CODE:` prefixes,
 * and no temporary file names; an export holds exactly what the filters keep, and a CSV cell never starts a
 * spreadsheet formula.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { AUDIT_KEY_ACCOUNT, AuditLog } from '../../services/audit-log/audit-log.js';
import { OsKeyStore } from '../../services/keys/key-store.js';
import { ACTIONS, actionLabel, matchesFilter, serializeActivity } from '../../shared/activity-view.js';
import { ActivityLog } from '../activity.js';
import { ReadableActivity, plainDetail } from './activity-view.js';

const FOLDER_ID = '9f86d081884c7d65';
const FOLDER = '/home/ada/Customers';

describe('the Activity log in plain language', () => {
  let dir: string;
  let log: ActivityLog;
  let readable: ReadableActivity;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-activity-view-'));
    let now = Date.UTC(2026, 10, 1, 9, 0, 0);
    log = new ActivityLog(path.join(dir, 'activity.jsonl'), () => (now += 60_000));
    readable = new ReadableActivity(log, (id) => (id === FOLDER_ID ? FOLDER : undefined));
    // What handlers.ts and composition.ts record, as they record it.
    log.record({ action: 'Protect', target: FOLDER_ID, outcome: 'ok' });
    log.record({
      action: 'Protect finished',
      target: FOLDER_ID,
      outcome: 'error',
      detail: '3/5 files, 2 problem(s)',
    });
    log.record({
      action: 'Auto-protect',
      target: '2 new file(s)',
      outcome: 'error',
      detail: `${FOLDER}/notes.txt: EBUSY; ${FOLDER}/copy.txt: HARD_LINK`,
    });
    log.record({
      action: 'Decrypt a copy',
      target: 'report.pdf',
      outcome: 'error',
      detail: `ENOENT: no such file or directory, open '${FOLDER}/.report.pdf.coffer.tmp-0123456789ab'`,
    });
    log.record({
      action: 'Verify',
      target: 'invoice.xlsx',
      outcome: 'error',
      detail: 'SOURCE_CHANGED: The file changed while Coffer read it.',
    });
    log.record({ action: 'Data audit', target: '=HYPERLINK("http://x")', outcome: 'ok' });
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names folders, not their IDs, and says errors in words (the raw log does not)', () => {
    const raw = JSON.stringify(log.list());
    // What the screen showed before (issue 12: "internal folder IDs, raw errno and temp names").
    expect(raw).toContain(FOLDER_ID);
    expect(raw).toMatch(/ENOENT|EBUSY/);
    expect(raw).toContain('.coffer.tmp-');

    const listed = readable.list();
    const text = JSON.stringify(listed);
    expect(text).not.toContain(FOLDER_ID);
    expect(text).not.toMatch(/\bE[A-Z]{3,}\b/);
    expect(text).not.toContain('tmp-0123456789ab');
    expect(text).not.toMatch(/"detail":"[A-Z_]{3,}: /);
    expect(listed.filter((e) => e.action.startsWith('Protect')).map((e) => e.target)).toEqual([
      FOLDER,
      FOLDER,
    ]);
    expect(listed.find((e) => e.action === 'Auto-protect')?.detail).toBe(
      `${FOLDER}/notes.txt: in use by another app; ${FOLDER}/copy.txt: has another name (hard link)`,
    );
    expect(listed.find((e) => e.action === 'Decrypt a copy')?.detail).toBe('not found: a temporary file');
    expect(listed.find((e) => e.action === 'Verify')?.detail).toBe('The file changed while Coffer read it.');
  });

  it('keeps a folder ID it cannot resolve, and a list that throws does not break the log', () => {
    const broken = new ReadableActivity(log, () => {
      throw new Error('STATE_TAMPERED');
    });
    expect(broken.list().filter((e) => e.action === 'Protect')[0]?.target).toBe(FOLDER_ID);
  });

  it('exports exactly the rows the filters keep, as CSV and as JSON lines', () => {
    const csv = path.join(dir, 'out.csv');
    const filter = { category: 'protection' as const, text: 'customers' };
    const shown = readable.list().filter((e) => matchesFilter(e, filter));
    expect(shown.map((e) => e.action)).toEqual(['Auto-protect', 'Protect finished', 'Protect']);
    expect(readable.exportTo(csv, 'csv', filter)).toBe(3);
    const lines = fs.readFileSync(csv, 'utf8').split('\r\n');
    expect(lines[0]).toBe('time,category,action,target,outcome,detail');
    expect(lines.slice(1, -1)).toHaveLength(3);
    expect(lines[3]).toBe(`2026-11-01T09:01:00.000Z,protection,Protect,${FOLDER},Done,`);
    expect((fs.statSync(csv).mode & 0o777).toString(8)).toBe('600');

    const jsonl = path.join(dir, 'out.jsonl');
    expect(readable.exportTo(jsonl, 'jsonl', { category: 'audit' })).toBe(1);
    expect(JSON.parse(fs.readFileSync(jsonl, 'utf8'))).toEqual({
      time: '2026-11-01T09:06:00.000Z',
      category: 'audit',
      action: 'Data audit',
      target: '=HYPERLINK("http://x")',
      outcome: 'ok',
    });
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('never lets a CSV cell start a formula, and quotes commas, quotes and newlines', () => {
    const text = serializeActivity(
      [
        { id: '1', at: 0, action: 'Data audit', target: '=HYPERLINK("http://x")', outcome: 'ok' },
        { id: '2', at: 0, action: 'Verify', target: 'a,b', outcome: 'error', detail: 'line1\nline2' },
      ],
      'csv',
    );
    const rows = text.split('\r\n');
    expect(rows[1]).toBe(`1970-01-01T00:00:00.000Z,audit,Data audit,"'=HYPERLINK(""http://x"")",Done,`);
    expect(rows[2]).toBe('1970-01-01T00:00:00.000Z,files,Verify,"a,b",Failed,"line1\nline2"');
  });

  it('no CSV cell starts a formula after leading blanks or a newline, nor with a full-width sign', () => {
    const names = [
      ' =HYPERLINK("http://x")',
      '\n=1+1',
      '\u3000@SUM(A1)',
      '＝HYPERLINK("http://x")',
      '＋1',
      'ok',
    ];
    const text = serializeActivity(
      names.map((target, i) => ({ id: `${i}`, at: 0, action: 'Verify', target, outcome: 'ok' as const })),
      'csv',
    );
    const cells = text
      .split('\r\n')
      .slice(1, -1)
      .map((row) => row.split(',')[3] ?? '');
    // Each cell, unquoted, begins with the ' a spreadsheet reads as "text", except the plain one.
    expect(cells.map((c) => c.replace(/^"/, '').startsWith("'"))).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
    ]);
  });

  it('filters by date range inclusive of both ends, and by text in any column', () => {
    const e = { id: 'x', at: 1000, action: 'Verify', target: 't', outcome: 'ok' as const, detail: 'Fine' };
    expect(matchesFilter(e, { from: 1000, to: 1000 })).toBe(true);
    expect(matchesFilter(e, { from: 1001 })).toBe(false);
    expect(matchesFilter(e, { to: 999 })).toBe(false);
    expect(matchesFilter(e, { text: 'fine' })).toBe(true);
    expect(matchesFilter(e, { text: 'done' })).toBe(true);
    expect(matchesFilter(e, { text: 'nope' })).toBe(false);
    expect(matchesFilter(e, { category: 'files' })).toBe(true);
    expect(matchesFilter(e, { category: 'keys' })).toBe(false);
  });

  it('an export never writes through a link planted where its temporary file goes', () => {
    // A local process guesses the temp name (it was `.NAME.PID.part`) and points it at a file to clobber.
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    const out = path.join(dir, 'out.csv');
    for (const name of [`.out.csv.${process.pid}.part`, '.out.csv.part']) {
      fs.symlinkSync(victim, path.join(dir, name));
    }
    expect(readable.exportTo(out, 'csv', {})).toBe(6);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(out).isFile()).toBe(true);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^time,category,action,target,outcome,detail\r\n/);
  });

  it('an export to a folder it cannot write fails with a code, and leaves nothing behind', () => {
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked, { mode: 0o500 });
    if (process.getuid?.() === 0) {
      // root writes anywhere: the refusal cannot be produced here, so a missing folder stands in for it.
      fs.rmSync(locked, { recursive: true });
    }
    let code: unknown;
    try {
      readable.exportTo(path.join(locked, 'out.csv'), 'csv', {});
    } catch (error) {
      code = (error as { code?: unknown }).code;
    }
    expect(code).toMatch(/^(PERMISSION_DENIED|NOT_FOUND)$/);
    expect(fs.existsSync(locked) ? fs.readdirSync(locked) : []).toEqual([]);
  });

  it('says no "escrow", "re-wrapped" or "stanza" on the screen (review of issue 12 item 6)', () => {
    // As composition.ts (rotation), handlers.ts `recorded` (a CofferError's `CODE: message`) and the app
    // before issue 12 (the old action name) record them.
    log.record({
      action: 'Re-wrap to recovery keys',
      target: 'aaaa-bbbb-cccc-dddd',
      outcome: 'ok',
      detail: '3 of 3 files re-wrapped; escrow ok',
    });
    log.record({
      action: 'Confirm recovery code',
      target: 'this device',
      outcome: 'error',
      detail:
        'STALE_ESCROW: The escrow record is for device key 1111-2222-3333-4444, but this account uses 5555-6666-7777-8888',
    });
    log.record({ action: 'Export escrow record', target: '/home/ada/key.json', outcome: 'ok' });
    const shown = readable
      .list()
      .slice(0, 3)
      .map((e) => [actionLabel(e.action), e.target, e.detail ?? ''].join(' | '));
    expect(shown).toEqual([
      'Save a copy of the key record | /home/ada/key.json | ',
      'Confirm recovery code | this device | The key record is for device key 1111-2222-3333-4444, but this account uses 5555-6666-7777-8888',
      'Update files for the recovery keys | aaaa-bbbb-cccc-dddd | 3 of 3 files moved to the new key; key record ok',
    ]);
    // Every action the table can show, by its label.
    for (const action of ACTIONS) expect(actionLabel(action)).not.toMatch(/escrow|re-?wrap|stanza/i);
    // The search box finds an entry by the words it shows.
    const rotation = readable.list()[2];
    expect(rotation && matchesFilter(rotation, { text: 'update files' })).toBe(true);
    // The CSV export holds the rows as the table shows them (JSON lines keep the recorded name for tools).
    const csv = path.join(dir, 'keys.csv');
    readable.exportTo(csv, 'csv', { category: 'keys' });
    const exported = fs.readFileSync(csv, 'utf8');
    expect(exported).toContain(',keys,Update files for the recovery keys,');
    expect(exported).not.toMatch(/escrow|re-?wrap/i);
  });

  it('plainDetail leaves ordinary text alone', () => {
    expect(plainDetail('4/4 files')).toBe('4/4 files');
    expect(plainDetail('key ID 3f9a-12bc-0e77-a1d4')).toBe('key ID 3f9a-12bc-0e77-a1d4');
  });
});

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (NO_KEYRING) console.warn(`SKIPPED Activity + audit trail tests: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('the Activity log reads the audit trail', { timeout: 60_000 }, () => {
  let dir: string;
  let keyStore: OsKeyStore;
  let sodium: SodiumBackend;

  beforeAll(async () => {
    sodium = await defaultBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-activity-trail-'));
    keyStore = new OsKeyStore({ service: `coffer-activity-trail-${randomBytes(6).toString('hex')}` });
  });

  afterAll(async () => {
    await keyStore.delete(AUDIT_KEY_ACCOUNT).catch(() => false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists what only the trail holds (the CLI, policy, files left in the clear), once, and says when it was edited', async () => {
    const trail = new AuditLog({
      sodium,
      keyStore,
      lockDir: path.join(dir, 'locks'),
      dir: path.join(dir, 'audit'),
    });
    const log = new ActivityLog(path.join(dir, 'activity.jsonl'));
    const readable = new ReadableActivity(log, () => undefined, trail);
    // An app action: on both logs (AuditedActivity's copy carries its `action`), listed once.
    log.record({ action: 'Decrypt a copy', target: 'report.pdf', outcome: 'ok' });
    await trail.append('decrypt-copy', { action: 'Decrypt a copy', target: 'report.pdf', outcome: 'ok' });
    // Only on the trail: a CLI encrypt, a policy change, files a run left in the clear.
    await trail.append('protect', { command: 'encrypt', files: ['/home/ada/Desktop/list.csv'] });
    await trail.append('policy-changed', { status: 'active', origin: '/etc/coffer/policy.json' });
    await trail.append('left-in-clear', {
      folder: '/home/ada/Customers',
      files: ['/home/ada/Customers/a.txt', '/home/ada/Customers/b.txt'],
      codes: ['EBUSY'],
    });
    await trail.close();

    const listed = readable.list();
    expect(listed.map((e) => e.action)).toEqual([
      'Files left in the clear',
      'Policy changed',
      'Protect finished',
      'Decrypt a copy',
    ]);
    expect(listed[0]).toMatchObject({
      target: '/home/ada/Customers',
      outcome: 'error',
      detail: 'files: /home/ada/Customers/a.txt, /home/ada/Customers/b.txt; codes: in use by another app',
    });
    expect(listed[1]).toMatchObject({ target: '/etc/coffer/policy.json', detail: 'status: active' });
    expect(listed[2]).toMatchObject({ target: '/home/ada/Desktop/list.csv', detail: 'command: encrypt' });
    expect(readable.list().filter((e) => matchesFilter(e, { category: 'security' }))).toHaveLength(1);
    expect(await readable.verify()).toEqual({ ok: true, records: 5 });

    // Someone edits a record on disk: the check names it, and the Activity log still lists.
    const text = fs.readFileSync(trail.logFile, 'utf8');
    fs.writeFileSync(trail.logFile, text.replace('policy.json', 'policy.jsom'));
    const check = await readable.verify();
    expect(check.ok).toBe(false);
    expect(check.problem).toMatch(/^record 4: /);
    expect(readable.list()).toHaveLength(4);
  });

  it('a security event written into the Activity file by another process, absent from the trail, is marked unverified', async () => {
    // The app has been running for ten minutes: its trail began then.
    let clock = Date.now() - 600_000;
    const trail = new AuditLog({
      sodium,
      keyStore,
      lockDir: path.join(dir, 'locks3'),
      dir: path.join(dir, 'audit3'),
      now: () => new Date(clock),
    });
    const file = path.join(dir, 'activity3.jsonl');
    const log = new ActivityLog(file, () => clock);
    await trail.append('policy-changed', { status: 'none' });
    clock += 60_000;
    const real = { action: 'Decrypt a copy', target: 'report.pdf', outcome: 'ok' as const };
    log.record(real);
    await trail.append('decrypt-copy', real);
    // Not a security event: nothing to check it against.
    log.record({ action: 'Verify', target: 'a.pdf', outcome: 'ok' });
    await trail.close();
    // The forger appends a line: "protect finished" for a folder that was never protected.
    const forged = { id: 'f1', at: clock + 60_000, action: 'Protect finished', target: '/x', outcome: 'ok' };
    fs.appendFileSync(file, `${JSON.stringify(forged)}\n`);
    const listed = new ReadableActivity(new ActivityLog(file), () => undefined, trail).list();
    expect(listed.filter((e) => e.unverified === true).map((e) => e.action)).toEqual(['Protect finished']);
    expect(listed.find((e) => e.action === 'Decrypt a copy')?.unverified).toBeUndefined();
    expect(listed.filter((e) => e.action === 'Decrypt a copy')).toHaveLength(1);
    // An export says so too.
    const csv = serializeActivity(listed, 'csv');
    expect(csv).toContain('Protect finished,/x,Done (not on the audit trail),');
    expect(serializeActivity(listed, 'jsonl')).toContain('"unverified":true');
  });

  it('an app action the trail holds stays listed when the (unauthenticated) Activity file loses or changes it', async () => {
    const trail = new AuditLog({
      sodium,
      keyStore,
      lockDir: path.join(dir, 'locks2'),
      dir: path.join(dir, 'audit2'),
    });
    const file = path.join(dir, 'activity2.jsonl');
    const log = new ActivityLog(file);
    // What AuditedActivity does for each app action that is a security event: both logs.
    for (const target of ['report.pdf', 'salaries.xlsx']) {
      const entry = { action: 'Decrypt a copy', target, outcome: 'ok' as const };
      log.record(entry);
      await trail.append('decrypt-copy', entry);
    }
    // A CLI protect in the same seconds as an app protect: two events, not one.
    log.record({ action: 'Protect finished', target: '/home/ada/Customers', outcome: 'ok' });
    await trail.append('protect', {
      action: 'Protect finished',
      target: '/home/ada/Customers',
      outcome: 'ok',
    });
    await trail.append('protect', { command: 'encrypt', files: ['/home/ada/Desktop/list.csv'] });
    await trail.close();
    const before = new ReadableActivity(new ActivityLog(file), () => undefined, trail).list();
    expect(before.map((e) => `${e.action} ${e.target}`).sort()).toEqual([
      'Decrypt a copy report.pdf',
      'Decrypt a copy salaries.xlsx',
      'Protect finished /home/ada/Customers',
      'Protect finished /home/ada/Desktop/list.csv',
    ]);

    // Another process drops one line and renames the other file in the Activity file (plain JSON lines).
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const kept = lines
      .filter((l) => !l.includes('salaries.xlsx'))
      .map((l) => l.replace('report.pdf', 'x.pdf'));
    fs.writeFileSync(file, `${kept.join('\n')}\n`);
    const after = new ReadableActivity(new ActivityLog(file), () => undefined, trail).list();
    const shown = after.map((e) => `${e.action} ${e.target}`);
    expect(shown).toContain('Decrypt a copy salaries.xlsx');
    expect(shown).toContain('Decrypt a copy report.pdf');
    expect(await new ReadableActivity(new ActivityLog(file), () => undefined, trail).verify()).toMatchObject({
      ok: true,
    });
  });
});
