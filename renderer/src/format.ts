/** Plain formatting for numbers people read: sizes, durations, times, progress. No DOM, unit-tested. */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit] ?? 'B'}`;
}

/** "about 3 min", "12 s", or "—" when unknown. */
export function formatEta(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `about ${hours} h ${minutes % 60} min`;
}

export function formatWhen(at: number, now: number = Date.now()): string {
  const diff = Math.max(0, now - at);
  if (diff < 60_000) return 'just now';
  if (diff < 3_600_000) return `${Math.floor(diff / 60_000)} min ago`;
  if (diff < 86_400_000) return `${Math.floor(diff / 3_600_000)} h ago`;
  return new Date(at).toLocaleString();
}

/** A folder run's outcome in words ("(ok)" was shown before). */
export function runOutcomeText(outcome: 'ok' | 'partial' | 'failed' | 'cancelled'): string {
  return {
    ok: 'finished',
    partial: 'finished, some files need you',
    failed: 'failed',
    cancelled: 'stopped',
  }[outcome];
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** 0..100, by bytes when known (a fair measure of work), else by files. */
export function progressPercent(p: {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}): number {
  const ratio =
    p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.filesTotal > 0 ? p.filesDone / p.filesTotal : 0;
  return Math.max(0, Math.min(100, Math.round(ratio * 100)));
}

/** The last part of a path (either separator), for a folder's name; the full path goes in its title. */
export function baseName(p: string): string {
  const trimmed = p.replace(/[\\/]+$/, '');
  return trimmed.split(/[\\/]/).pop() || p;
}
