/**
 * Every hint names a real command and a real option (issue 10 item 7: CONFLICT's hint named a `--force`
 * that did not exist). Each `coffer …` written in backticks in the sources is looked up in the real
 * command tree, through `coffer <command> --help`, in process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/cli-harness.js';
import { main } from './main.js';

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : sources(rel);
    return /\.tsx?$/.test(d.name) && !/\.test\.tsx?$/.test(d.name) ? [rel] : [];
  });
}

/** `coffer recovery code`, `coffer encrypt --replace FILE`: the command words and the options named. */
function parse(snippet: string): { words: string[]; options: string[] } {
  const tokens = snippet.split(/\s+/).slice(1);
  const words: string[] = [];
  let i = 0;
  for (; i < tokens.length && /^[a-z][a-z-]*$/.test(tokens[i] ?? ''); i++) words.push(tokens[i] ?? '');
  const options = tokens.slice(i).filter((t) => /^--?[a-z]/.test(t));
  return { words, options: options.map((o) => o.replace(/[=,.;:)]+.*$/, '')) };
}

async function help(words: readonly string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const sink = { write: (s: string) => (text += s) };
  const code = await main(['node', 'coffer', ...words, '--help'], { stdout: sink, stderr: sink });
  return { code, text };
}

describe('hints and help texts', () => {
  const snippets = new Map<string, string>();
  for (const file of [...sources('cli'), ...sources('electron'), ...sources('crypto')]) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/`(coffer [^`$]+?)\\?`/g)) {
      const snippet = m[1] ?? '';
      // A list of commands (`coffer protect | unprotect | status`) names each of them.
      for (const part of snippet.split(/\s*\|\s*/)) {
        const one = part.startsWith('coffer ') ? part : `coffer ${part}`;
        if (!one.includes('…') && !/^coffer\s*$/.test(one)) snippets.set(one.trim(), file);
      }
    }
  }

  it('finds the hints to check', () => {
    expect(snippets.size).toBeGreaterThan(20);
    expect([...snippets.keys()]).toContain('coffer encrypt --replace FILE');
  });

  it('names only commands and options that exist', async () => {
    const wrong: string[] = [];
    for (const [snippet, file] of snippets) {
      const { words, options } = parse(snippet);
      const { code, text } = await help(words);
      const usage = `Usage: coffer ${words.join(' ')}`.trim();
      if (code !== 0 || (words.length > 0 && !text.includes(usage))) {
        wrong.push(`${file}: \`${snippet}\`: no such command`);
        continue;
      }
      for (const option of options)
        if (!new RegExp(`(^|[\\s,])${option}([\\s,]|$)`, 'm').test(text))
          wrong.push(`${file}: \`${snippet}\`: no option ${option}`);
    }
    expect(wrong).toEqual([]);
  });
});
