const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The same bytes in a second, non-canonical base64 spelling: the last character before the padding gets its
 * lowest bit flipped, a bit no byte uses when there is padding, so lenient decoders (Buffer.from) read the
 * same bytes from a different text.
 */
export function nonCanonicalBase64(text: string): string {
  const end = text.replace(/=+$/, '');
  if (end.length === text.length) throw new Error('needs a padded base64 text');
  const last = ALPHABET.indexOf(end.at(-1) ?? '');
  if (last < 0) throw new Error('not base64');
  return `${end.slice(0, -1)}${ALPHABET[last ^ 1] ?? ''}${text.slice(end.length)}`;
}
