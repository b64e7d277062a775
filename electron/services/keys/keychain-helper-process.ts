/**
 * The keychain helper as the app runs it: the entry module of an Electron utilityProcess
 * (electron/main/keychain-utility.ts forks dist/electron/services/keys/keychain-helper-process.js).
 * Same protocol as the Node child's script in keychain-helper.ts, over the parent port instead of stdio:
 * one JSON request string per message in, one JSON reply string per message out.
 */
import { createRequire } from 'node:module';

interface Entry {
  getPassword(): Promise<string | null | undefined>;
  setPassword(secret: string): Promise<void>;
  deleteCredential(): Promise<boolean>;
}
type EntryClass = new (service: string, account: string, options: { linux: { store: string } }) => Entry;

interface Request {
  id: number;
  op: 'get' | 'set' | 'delete';
  service: string;
  account: string;
  secret?: string;
}

/** Answers one request line; never throws (a failure is a reply with ok: false). */
export async function answer(line: string, AsyncEntry: EntryClass): Promise<string> {
  let id = 0;
  let reply: { ok: true; value: string | boolean | null } | { ok: false; error: string };
  try {
    const req = JSON.parse(line) as Request;
    id = req.id;
    // Pinned to the Secret Service on Linux, as in the Node child (DESIGN.md "Keys").
    const entry = new AsyncEntry(req.service, req.account, { linux: { store: 'secret-service' } });
    if (req.op === 'get') reply = { ok: true, value: (await entry.getPassword()) ?? null };
    else if (req.op === 'set') {
      await entry.setPassword(req.secret ?? '');
      reply = { ok: true, value: null };
    } else reply = { ok: true, value: await entry.deleteCredential() };
  } catch (e) {
    reply = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  return JSON.stringify({ id, ...reply });
}

/** Electron's `process.parentPort`, present only inside a utilityProcess (declared here: no electron import). */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (parentPort !== undefined) {
  const { AsyncEntry } = createRequire(import.meta.url)('@napi-rs/keyring') as { AsyncEntry: EntryClass };
  parentPort.on('message', (event) => {
    void answer(String(event.data), AsyncEntry).then((reply) => {
      parentPort.postMessage(reply);
    });
  });
}
