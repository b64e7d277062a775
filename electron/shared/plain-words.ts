/**
 * Messages from the services, said for employees before they reach the screen (issue 12 item 6: no
 * "escrow", no errno, no command to type). The services' words stay as they are for the CLI and the logs;
 * the stable codes (ESCROW_COPY_FAILED, …) are kept in the text, since the helpdesk searches for them.
 */

import { UNKNOWN_ERRNO_WORDS, codeInWords } from './code-words.js';

/** `EACCES: permission denied, open '/x/y'` and `EISDIR: illegal operation on a directory, rename 'a' -> 'b'`. */
const ERRNO_MESSAGE = /\b(E[A-Z]{2,}): [^,()]*?, [a-z]+ '[^']*'(?: -> '[^']*')?/g;

const WORDS: [RegExp, string][] = [
  [/\bthe new key escrow record\b/gi, 'the new copy of your key record'],
  [/\b(?:the )?key escrow record\b/gi, 'the key record'],
  [/\bescrow records?\b/gi, 'key record'],
  [/\bescrow cop(?:y|ies)\b/gi, 'copy of the key record'],
  [/\bescrow\b/gi, 'key record'],
  [/\bre-?wrapped\b/gi, 'moved to the new key'],
  [/\b(?:recipient )?stanzas?\b/gi, 'key slot'],
];

/**
 * The CLI's hints name commands to type (`coffer protect`, `find / -samefile FILE`); on a screen they say
 * what to do in the app. The hints an employee meets most (why a file stayed in the clear, a code to make
 * again, a key to restore) get their own words; any other command is left to the helpdesk (COMMAND below).
 */
const STEPS: [RegExp, string][] = [
  [
    /`coffer encrypt --replace FILE` protects it over the old \.coffer;/g,
    'delete the old .coffer file and protect the folder again;',
  ],
  [/\(`find \/ -samefile FILE` lists them\)/g, '(the helpdesk can find them)'],
  [
    /Run `coffer protect` on its folder: it removes what Coffer made and lists what it did not\./g,
    'Protect its folder again: Coffer removes what it made and lists what it did not.',
  ],
  [
    /Run `coffer protect` on its folder \(the app protects new files by itself\)\./g,
    'Coffer protects it by itself shortly, or protect its folder now.',
  ],
  [/Run `coffer recovery code` to make [^.]*\./g, 'Make a new recovery code on the Recovery page.'],
  // The CLI's flags (a save dialog already asked where): FILE_EXISTS, fs-errors.ts EEXIST.
  [/Choose another --out path[^.]*\./g, 'Choose another name or folder.'],
  [/Move the existing file away, or use --force\./g, 'Move the existing file away, or choose another name.'],
  [
    /Restore the device key with `coffer restore-device`/g,
    'Restore your key on the Recovery page (with your recovery code) or ask the helpdesk',
  ],
];
/** Any command left: the helpdesk runs it. */
const COMMAND = /`(?:coffer|find) [^`]*`/g;

/** One message said plainly: errno turned into words, developer terms and commands replaced. */
export function plainMessage(text: string): string {
  let out = text;
  for (const [pattern, words] of STEPS) out = out.replace(pattern, words);
  out = out.replace(COMMAND, 'the helpdesk’s command line');
  out = out.replace(ERRNO_MESSAGE, (_whole, code: string) => codeInWords(code) ?? UNKNOWN_ERRNO_WORDS);
  // A bare "EACCES" left over (e.g. "failed with EACCES").
  out = out.replace(/\b(E[A-Z]{3,})\b/g, (whole, code: string) => codeInWords(code) ?? whole);
  for (const [pattern, words] of WORDS)
    out = out.replace(pattern, (found) =>
      /^[A-Z]/.test(found) ? words.charAt(0).toUpperCase() + words.slice(1) : words,
    );
  return out;
}

/** A restore's warnings (RecoveryService): the CLI's advice to run a command becomes what to do in the app. */
export function plainRestoreWarning(text: string): string {
  const notRewrapped =
    /^(\d+) item\(s\) were not re-wrapped to the new device key \(they still open here\): run `coffer rewrap` again\.$/.exec(
      text,
    );
  if (notRewrapped)
    return `${notRewrapped[1] ?? 'Some'} file(s) still use your old key. They open on this computer all the same; protect their folders again, or ask the helpdesk to finish the move to the new key.`;
  if (text.startsWith('Files were not re-wrapped (they still open here): '))
    return plainMessage(
      `Your files still use your old key (they open on this computer all the same): ${text.slice('Files were not re-wrapped (they still open here): '.length)}`,
    );
  return plainMessage(text.replace(/`coffer rewrap`/g, 'the move to the new key'));
}
