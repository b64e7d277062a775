/**
 * How an extractor gives up on a file (extractText turns each into the reason the file is skipped). Apart
 * from the parsers so that the scanner worker does not load htmlparser2 or the zip reader before a file
 * needs them (they were most of a worker's start-up: extract/index.ts imports them on first use).
 */

/** More text than `maxTextChars`. */
export class TextTooLong extends Error {}

/** A file the extractor gives up on while parsing; the message is the reason shown for the skipped file. */
export class Unreadable extends Error {}
