/**
 * One tray refresh at a time. Change events come in bursts (a run's end, a policy change, the minute timer):
 * overlapping refreshes could hand the clear-files notifier an older folder list after a newer one, and so
 * restart or fake an episode. A call during a refresh asks for one more after it, however many calls come.
 */
export function coalesce(task: () => Promise<void>, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<void> | null = null;
  /** Calls so far; a refresh that starts answers every call made before it started. */
  let requests = 0;
  const loop = async (): Promise<void> => {
    let answered = -1;
    while (answered !== requests) {
      answered = requests;
      try {
        await task();
      } catch (error) {
        onError(error);
      }
    }
    running = null;
  };
  return () => {
    requests++;
    running ??= loop();
    return running;
  };
}
