export const SCREENS = [
  'overview',
  'folders',
  'files',
  'audit',
  'recovery',
  'helpdesk',
  'activity',
  'settings',
  'about',
] as const;
/** Pages not in the sidebar: `opened` shows a `.coffer` file the OS asked Coffer to open (OpenedFile.tsx). */
export const HIDDEN_SCREENS = ['opened'] as const;
export type Screen = (typeof SCREENS)[number] | (typeof HIDDEN_SCREENS)[number];

export const SCREEN_LABELS: Record<Screen, string> = {
  overview: 'Overview',
  folders: 'Folders',
  files: 'Files',
  audit: 'Data audit',
  recovery: 'Recovery',
  helpdesk: 'Helpdesk',
  activity: 'Activity',
  settings: 'Settings',
  about: 'About',
  opened: 'Opened file',
};

/** `#/files` → 'files' (`#/folders/<id>` → 'folders'); anything unknown is the overview. */
export function screenFromHash(hash: string): Screen {
  const name = hash.replace(/^#\/?/, '').split('/')[0] ?? '';
  return ([...SCREENS, ...HIDDEN_SCREENS] as readonly string[]).includes(name)
    ? (name as Screen)
    : 'overview';
}

/** `#/folders/<id>`, where the tray and its notification open a folder (main.ts showFolder) → the ID, else null. */
export function folderFromHash(hash: string): string | null {
  const encoded = /^#\/folders\/([^/]+)$/.exec(hash)?.[1];
  if (encoded === undefined) return null;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return null;
  }
}
