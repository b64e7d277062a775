/**
 * Why a file stayed in the clear, as the app shows it to an employee (issue 12 item 6). The folder
 * services word their issues for the CLI and the logs: "/full/path: 1 other hard link(s) share its
 * content…" and a hint with `find / -samefile FILE`. On a screen the file is named relative to its folder
 * (the screen shows that name before the reason), and a reason that asks for a command says what to do in
 * the app or the file manager instead; the command is the helpdesk's (docs/HELPDESK.md).
 */
import path from 'node:path';
import type { FileError } from '../../shared/contract.js';
import type { FileIssue } from '../../services/folders/types.js';

/** Reasons with their own words for people; others keep the service's, without the full path. */
const FOR_PEOPLE: Record<string, (issue: FileIssue, name: string) => { message: string; hint: string }> = {
  HARD_LINK: (issue) => {
    const others = Number(/(\d+) other hard link/.exec(issue.message)?.[1] ?? '1');
    return {
      message:
        others === 1
          ? 'this file also has another name on this computer (a hard link); encrypting it here would leave its content readable under that name'
          : `this file also has ${others} other names on this computer (hard links); encrypting it here would leave its content readable under those names`,
      hint: 'If you know the other name, delete it in your file manager. Or make this one a file of its own: copy it, delete the original and give the copy its name. Then press Protect now. The helpdesk can find the other names for you.',
    };
  },
};

/** `issue` for the screen: its path relative to `root`, no full path in its words. */
export function fileErrorForPeople(issue: FileIssue, root: string): FileError {
  const rel = path.relative(root, issue.path) || path.basename(issue.path);
  const words = FOR_PEOPLE[issue.code]?.(issue, rel);
  if (words) return { path: rel, code: issue.code, message: words.message, hint: words.hint };
  const message = withoutPath(issue.message, issue.path, rel);
  return issue.hint
    ? { path: rel, code: issue.code, message, hint: withoutPath(issue.hint, issue.path, rel) }
    : { path: rel, code: issue.code, message };
}

/** "/root/a/b.txt: in use" → "in use" (the name is shown before it); elsewhere the full path → its name. */
function withoutPath(text: string, full: string, rel: string): string {
  const rest = text.startsWith(`${full}: `) ? text.slice(full.length + 2) : text;
  return rest.split(full).join(rel);
}
