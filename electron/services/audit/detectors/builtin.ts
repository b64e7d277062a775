/** The built-in detectors in one pass over the text (first version: e-mail only; the rest follows). */
import type { Findings } from './index.js';

const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b/g;

export function scanBuiltIns(text: string, out: Findings): void {
  if (text.indexOf('@') < 0) return;
  EMAIL.lastIndex = 0;
  let n = 0;
  while (EMAIL.exec(text) !== null) n++;
  if (n > 0) out.email = n;
}
