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
export type Screen = (typeof SCREENS)[number];

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
};

/** `#/files` → 'files'; anything unknown is the overview. */
export function screenFromHash(hash: string): Screen {
  const name = hash.replace(/^#\/?/, '');
  return (SCREENS as readonly string[]).includes(name) ? (name as Screen) : 'overview';
}
