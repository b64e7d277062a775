/**
 * Issue 11 item 2 through the real `coffer` CLI and a real Secret Service: the audit trail records security
 * events, and whoever can write the app-data folder (but not the keychain) cannot edit, remove, reorder,
 * forge, cut short or roll back its records without `coffer audit verify` exiting 1 and naming the first bad
 * record. Several CLI processes appending at once neither interleave nor fork the chain.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '../crypto/sodium.js';
import { RecordCodec, parseRecord } from '../electron/services/audit-log/record.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';
import { Collector, selfSignedLoopbackCert } from './helpers/https-collector.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI audit-trail scenarios: ${NO_KEYRING}`);

interface Record_ {
  seq: number;
  time: string;
  type: string;
  details: Record<string, unknown>;
  prev: string;
  mac: string;
}
interface VerifyDoc {
  ok: boolean;
  records: number;
  firstBad?: { line?: number; seq?: number; problem: string };
}
interface LogDoc {
  ok: boolean;
  verified: boolean;
  records: Record_[];
}

describe.skipIf(NO_KEYRING !== null)('audit trail: tamper-evident log', { timeout: 300_000 }, () => {
  const laptop = new Laptop('audit');
  const work = fs.realpathSync(tempDir('audit-work'));
  const auditDir = path.join(laptop.home, 'audit');
  const logFile = path.join(auditDir, 'log.jsonl');
  const headFile = path.join(auditDir, 'head.json');
  let pristineLog = '';
  let pristineHead = '';
  /** The log and head after the first few events: an "older copy". */
  let olderLog = '';
  let codec: RecordCodec;

  function file(name: string, text = `row of ${name}\n`): string {
    const p = path.join(work, name);
    fs.writeFileSync(p, text);
    return p;
  }

  async function ok(args: string[]): Promise<void> {
    const r = await laptop.run(args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    expect(r.stderr).not.toContain('audit log did not record');
  }

  function lines(): string[] {
    return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n');
  }

  function last_(): never {
    throw new Error('the last line is not a record');
  }

  function restore(): void {
    fs.writeFileSync(logFile, pristineLog);
    fs.writeFileSync(headFile, pristineHead);
  }

  async function verify(): Promise<{ code: number | null; doc: VerifyDoc; stderr: string }> {
    const { result, doc } = await laptop.json<VerifyDoc>(['audit', 'verify']);
    return { code: result.code, doc, stderr: result.stderr };
  }

  beforeAll(async () => {
    codec = new RecordCodec(await defaultBackend());
    await ok(['init']);
    await ok(['encrypt', file('a.csv')]);
    await ok(['encrypt', file('b.csv')]);
    olderLog = fs.readFileSync(logFile, 'utf8');
    await ok(['decrypt', path.join(work, 'a.csv.coffer'), '-o', path.join(work, 'a-copy.csv')]);
    await ok(['encrypt', '--keep', file('c.csv')]);
    await ok(['decrypt', path.join(work, 'b.csv.coffer')]);
    pristineLog = fs.readFileSync(logFile, 'utf8');
    pristineHead = fs.readFileSync(headFile, 'utf8');
  });

  afterAll(() => {
    for (const d of [work, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('records each event with file names only, and the untouched log verifies', async () => {
    const log = await laptop.json<LogDoc>(['audit', 'log']);
    expect(log.result.code).toBe(0);
    expect(log.doc.verified).toBe(true);
    expect(log.doc.records.map((r) => r.type)).toEqual([
      'audit-log-started',
      'protect',
      'protect',
      'decrypt-copy',
      'protect',
      'left-in-clear',
      'unprotect',
    ]);
    expect(log.doc.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(log.doc.records[1]?.details.files).toEqual([path.join(work, 'a.csv.coffer')]);
    expect(log.doc.records[3]?.details.written).toEqual([path.join(work, 'a-copy.csv')]);
    // Names only: the content of the files is nowhere in the log.
    expect(pristineLog).not.toContain('row of');
    const v = await verify();
    expect(v.code, v.stderr).toBe(0);
    expect(v.doc).toMatchObject({ ok: true, records: 7 });

    // --since after the last event lists nothing; a bad date is a usage error.
    const later = await laptop.json<LogDoc>(['audit', 'log', '--since', '2999-01-01']);
    expect(later.doc.records).toEqual([]);
    const bad = await laptop.run(['audit', 'log', '--since', 'yesterday-ish']);
    expect(bad.code).toBe(2);
  });

  const tampers: {
    name: string;
    edit: () => void;
    expectBad: { line?: number; seq?: number; problem: RegExp };
  }[] = [
    {
      name: 'a field edited (a file name changed, MAC kept)',
      edit: () => {
        const l = lines();
        const r = JSON.parse(l[3] ?? '') as Record_;
        r.details = { ...r.details, written: ['/elsewhere/innocent.txt'] };
        l[3] = JSON.stringify(r);
        fs.writeFileSync(logFile, l.join('\n') + '\n');
      },
      expectBad: { line: 4, seq: 4, problem: /MAC does not verify/ },
    },
    {
      name: 'the event type edited',
      edit: () => {
        fs.writeFileSync(logFile, pristineLog.replace('"type":"unprotect"', '"type":"protect"'));
      },
      expectBad: { line: 7, seq: 7, problem: /MAC does not verify/ },
    },
    {
      name: 'a middle record deleted',
      edit: () => {
        const l = lines();
        l.splice(3, 1);
        fs.writeFileSync(logFile, l.join('\n') + '\n');
      },
      expectBad: { line: 4, seq: 5, problem: /records 4\.\.4 were removed/ },
    },
    {
      name: 'two records swapped',
      edit: () => {
        const l = lines();
        [l[2], l[3]] = [l[3] ?? '', l[2] ?? ''];
        fs.writeFileSync(logFile, l.join('\n') + '\n');
      },
      expectBad: { line: 3, seq: 4, problem: /removed|reordered/ },
    },
    {
      name: 'the tail truncated (last two records cut off)',
      edit: () => {
        fs.writeFileSync(logFile, lines().slice(0, 5).join('\n') + '\n');
      },
      expectBad: { seq: 6, problem: /records 6\.\.7 were cut off/ },
    },
    {
      name: 'a forged record appended (chained correctly, no key)',
      edit: () => {
        const l = lines();
        const last = JSON.parse(l.at(-1) ?? '') as Record_;
        // The chain needs no key: the forger links it correctly; only the MAC is out of reach.
        const forged: Record_ = {
          seq: last.seq + 1,
          time: new Date().toISOString(),
          type: 'protect',
          details: { files: ['/home/x/everything.coffer'] },
          prev: codec.hash(parseRecord(JSON.stringify(last)) ?? last_()),
          mac: 'ab'.repeat(32),
        };
        fs.appendFileSync(logFile, JSON.stringify(forged) + '\n');
      },
      expectBad: { line: 8, seq: 8, problem: /MAC does not verify/ },
    },
    {
      name: 'the whole log replaced by an older copy',
      edit: () => {
        fs.writeFileSync(logFile, olderLog);
      },
      expectBad: { seq: 4, problem: /records 4\.\.7 were cut off or the log was replaced by an older copy/ },
    },
    {
      name: 'the head rewritten to match a truncated log',
      edit: () => {
        fs.writeFileSync(logFile, olderLog);
        const head = JSON.parse(pristineHead) as { seq: number; hash: string; mac: string };
        fs.writeFileSync(headFile, JSON.stringify({ ...head, seq: 3 }));
      },
      expectBad: { problem: /head .* is altered/ },
    },
    {
      name: 'the whole log removed (the keychain still holds its key)',
      edit: () => {
        fs.rmSync(logFile);
        fs.rmSync(headFile);
      },
      expectBad: { problem: /log\.jsonl is missing/ },
    },
  ];

  for (const t of tampers) {
    it(`${t.name}: verify exits 1 naming the first bad record`, async () => {
      restore();
      t.edit();
      const v = await verify();
      expect(v.code, v.stderr).toBe(1);
      expect(v.doc.ok).toBe(false);
      expect(v.doc.firstBad?.problem).toMatch(t.expectBad.problem);
      if (t.expectBad.line !== undefined) expect(v.doc.firstBad?.line).toBe(t.expectBad.line);
      if (t.expectBad.seq !== undefined) expect(v.doc.firstBad?.seq).toBe(t.expectBad.seq);
      expect(v.stderr).toContain('AUDIT_LOG_TAMPERED');
      restore();
    });
  }

  it('a truncated log stays caught after later appends (the next record follows the head)', async () => {
    restore();
    fs.writeFileSync(logFile, olderLog);
    await ok(['encrypt', file('d.csv')]);
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.doc.firstBad).toMatchObject({ line: 4, seq: 8 });
    expect(v.doc.firstBad?.problem).toMatch(/records 4\.\.7 were removed/);
    restore();
  });

  it('a removed head is put on record by the next append, so rewriting the head cannot hide a cut', async () => {
    restore();
    fs.writeFileSync(logFile, olderLog);
    fs.rmSync(headFile);
    await ok(['encrypt', file('e.csv')]);
    const log = await laptop.json<LogDoc>(['audit', 'log']);
    expect(log.doc.records.map((r) => r.type).slice(-2)).toEqual(['audit-log-damaged', 'protect']);
    const v = await verify();
    expect(v.code).toBe(1);
    expect(v.doc.firstBad?.problem).toMatch(/an append found the log damaged.*head was missing/);
    restore();
  });

  it('eight CLI processes appending at once: one unbroken chain, every event once', async () => {
    restore();
    const names = Array.from({ length: 8 }, (_, i) => file(`p${i}.csv`));
    const runs = await Promise.all(names.map((n) => laptop.run(['encrypt', n])));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('audit log did not record');
    }
    const v = await verify();
    expect(v.code, JSON.stringify(v.doc)).toBe(0);
    expect(v.doc.records).toBe(15);
    const log = await laptop.json<LogDoc>(['audit', 'log']);
    const recorded = log.doc.records.slice(7).flatMap((r) => r.details.files as string[]);
    expect(recorded.sort()).toEqual(names.map((n) => `${n}.coffer`).sort());
  });

  it('a log that cannot be written: the protect still succeeds and the failure is a warning', async () => {
    const saved = fs.mkdtempSync(path.join(work, 'saved-audit-'));
    fs.renameSync(auditDir, path.join(saved, 'audit'));
    fs.writeFileSync(auditDir, 'not a folder');
    try {
      const target = file('f.csv');
      const r = await laptop.run(['encrypt', target]);
      expect(r.code, r.stderr).toBe(0);
      expect(fs.existsSync(`${target}.coffer`)).toBe(true);
      expect(fs.existsSync(target)).toBe(false);
      expect(r.stderr).toMatch(/Warning: the audit log did not record this protect/);
    } finally {
      fs.rmSync(auditDir, { force: true });
      fs.renameSync(path.join(saved, 'audit'), auditDir);
    }
  });
});

describe.skipIf(NO_KEYRING !== null)(
  'audit trail: the events of the key and folder commands',
  { timeout: 300_000 },
  () => {
    const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };
    const helpdesk = new Laptop('audit-helpdesk');
    const laptop = new Laptop('audit-events');
    const work = fs.realpathSync(tempDir('audit-events'));

    afterAll(() => {
      for (const d of [work, laptop.home, helpdesk.home]) fs.rmSync(d, { recursive: true, force: true });
    });

    async function ok(l: Laptop, args: string[], env: Record<string, string> = {}): Promise<string> {
      const r = await l.run(args, env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toContain('audit log did not record');
      return r.stdout;
    }

    it('trust, code, folder protect, tampered file, tampered settings, untrust: each on record, the log verifies', async () => {
      const keyFile = path.join(helpdesk.home, 'org.key');
      const org = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', keyFile],
        pass,
      );
      expect(org.result.code, org.result.stderr).toBe(0);
      await ok(laptop, ['recovery', 'trust', org.doc.publicKey, '--label', 'ACME']);
      await ok(laptop, ['init']);
      await ok(laptop, ['recovery', 'code']);
      const folder = path.join(work, 'customers');
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, 'list.csv'), 'secret customer row\n');
      await ok(laptop, ['protect', folder]);

      // A protected file altered on disk: verify fails authentication, and that is recorded.
      const victim = path.join(folder, 'list.csv.coffer');
      const bytes = fs.readFileSync(victim);
      bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
      fs.writeFileSync(victim, bytes);
      const verify = await laptop.run(['verify', victim]);
      expect(verify.code).toBe(1);

      // The settings edited without the keychain: the refusal is recorded.
      const settings = path.join(laptop.home, 'settings.json');
      const original = fs.readFileSync(settings, 'utf8');
      fs.writeFileSync(settings, original.replace('ACME', 'EVIL'));
      const refused = await laptop.run(['encrypt', path.join(work, 'x.csv')]);
      expect(refused.code).toBe(1);
      fs.writeFileSync(settings, original);

      await ok(laptop, ['recovery', 'untrust', org.doc.keyId]);

      const log = await laptop.json<LogDoc>(['audit', 'log']);
      expect(log.result.code).toBe(0);
      expect(log.doc.verified).toBe(true);
      const types = log.doc.records.map((r) => r.type);
      for (const t of [
        'trusted-keys-changed',
        'recovery-code-made',
        'protect',
        'auth-failed',
        'state-tampered',
        'rewrap',
      ]) {
        expect(types, t).toContain(t);
      }
      const byType = (t: string): Record_[] => log.doc.records.filter((r) => r.type === t);
      expect(byType('trusted-keys-changed').map((r) => r.details)).toEqual([
        { action: 'trust', keyId: org.doc.keyId },
        { action: 'untrust', keyId: org.doc.keyId },
      ]);
      expect(byType('protect')[0]?.details).toMatchObject({ folder, filesDone: 1, filesTotal: 1 });
      expect(byType('auth-failed')[0]?.details).toMatchObject({ operation: 'verify', files: [victim] });
      expect(JSON.stringify(byType('state-tampered')[0]?.details)).toContain('settings.json');
      // Names and key IDs only: no content, code or passphrase.
      const raw = fs.readFileSync(path.join(laptop.home, 'audit', 'log.jsonl'), 'utf8');
      expect(raw).not.toContain('secret customer row');
      expect(raw).not.toContain(pass.COFFER_PASSPHRASE);

      const v = await laptop.json<VerifyDoc>(['audit', 'verify']);
      expect(v.result.code, v.result.stderr).toBe(0);
    });
  },
);

describe.skipIf(NO_KEYRING !== null)(
  'audit trail: coffer audit forward (policy auditForward)',
  { timeout: 180_000 },
  () => {
    const work = fs.realpathSync(tempDir('audit-forward'));
    const tls = selfSignedLoopbackCert(work);
    fs.writeFileSync(path.join(work, 'ca.pem'), tls.cert);
    const policyFile = path.join(work, 'policy.json');
    const laptop = new Laptop('audit-forward', {
      COFFER_POLICY_FILE: policyFile,
      // The collector's self-signed certificate, trusted the way an organization's private CA would be.
      NODE_EXTRA_CA_CERTS: path.join(work, 'ca.pem'),
    });
    const collector = new Collector(tls, ['drop-after-read', 'drop-before-read']);

    beforeAll(async () => {
      await collector.listen();
      fs.writeFileSync(
        policyFile,
        JSON.stringify({ auditForward: `https://127.0.0.1:${collector.port}/in` }),
      );
    });

    afterAll(async () => {
      await collector.close();
      for (const d of [work, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
    });

    it('a collector that drops connections: kept and sent again until taken, each event once after dedupe', async () => {
      for (const name of ['a', 'b', 'c']) {
        const p = path.join(work, `${name}.csv`);
        fs.writeFileSync(p, 'row\n');
        expect((await laptop.run(['encrypt', p])).code).toBe(0);
      }
      const first = await laptop.json<{ ok: boolean; sent: number; pending: number }>(['audit', 'forward']);
      expect(first.result.code).toBe(1);
      expect(first.result.stderr).toContain('AUDIT_FORWARD_FAILED');
      expect(first.doc).toMatchObject({ ok: false, sent: 0, pending: 4 });
      const second = await laptop.run(['audit', 'forward']);
      expect(second.code).toBe(1);
      const third = await laptop.json<{ ok: boolean; sent: number; pending: number }>(['audit', 'forward']);
      expect(third.result.code, third.result.stderr).toBe(0);
      expect(third.doc).toMatchObject({ ok: true, sent: 4, pending: 0 });
      expect([...collector.unique().keys()]).toEqual([1, 2, 3, 4]);
      expect(collector.raw.length).toBe(8); // the first batch arrived twice (its answer was dropped)
      expect(collector.modes).toEqual(['drop-after-read', 'drop-before-read', 'ok']);
      // Nothing new: nothing sent.
      const again = await laptop.json<{ sent: number }>(['audit', 'forward']);
      expect(again.doc.sent).toBe(0);
    });
  },
);
