/**
 * Base64 read strictly: the bytes only when the text is their one canonical spelling (standard alphabet,
 * padded, unused bits zero) and they are `length` long. Buffer.from reads several texts as the same bytes, so
 * a MAC or signature with a flipped unused bit would verify although the file changed.
 */
export function decodeStrictBase64(text: string, length: number): Uint8Array | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === length && bytes.toString('base64') === text ? new Uint8Array(bytes) : null;
}
