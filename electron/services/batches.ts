/** Work handed to worker threads in batches (folder runs, the data audit). */

/** Largest first, then batched so that each message carries enough work to be worth sending. */
export function planBatches<T extends { readonly size: number }>(
  files: readonly T[],
  maxFiles: number,
  maxBytes: number,
): T[][] {
  const sorted = [...files].sort((a, b) => b.size - a.size);
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const file of sorted) {
    if (batch.length > 0 && (batch.length >= maxFiles || bytes + file.size > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(file);
    bytes += file.size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
