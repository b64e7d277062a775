/** Small data hooks over window.coffer: load once, reload when main says the data changed. */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CofferEvent, ErrorInfo, Progress } from '@shared/contract.js';
import { errorInfo, onEvent } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ErrorInfo | undefined;
  reload: () => void;
}

type Topic = Extract<CofferEvent, { type: 'changed' }>['what'];

/** `key` names what is loaded (e.g. a folder and directory): a new key loads again. */
export function useLoad<T>(load: () => Promise<T>, topics: readonly Topic[], key = ''): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ErrorInfo>();
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const topicKey = topics.join(',');

  const reload = useCallback(() => {
    loadRef.current().then(
      (value) => {
        setData(value);
        setError(undefined);
      },
      (e: unknown) => {
        setError(errorInfo(e));
      },
    );
  }, []);

  useEffect(() => {
    reload();
    const wanted = new Set(topicKey.split(','));
    return onEvent((event) => {
      if (event.type === 'changed' && wanted.has(event.what)) reload();
      if (event.type === 'progress' && event.progress.state !== 'running' && wanted.has('folders')) reload();
    });
  }, [reload, topicKey, key]);

  return { data, error, reload };
}

/** Live runs (protect, unprotect, restore) keyed by run ID, fed by progress events. */
export function useRuns(initial: () => Promise<Progress[]>): Map<string, Progress> {
  const [runs, setRuns] = useState(() => new Map<string, Progress>());
  useEffect(() => {
    let live = true;
    initial().then(
      (list) => {
        if (live) setRuns((old) => new Map([...list.map((p) => [p.runId, p] as const), ...old]));
      },
      () => undefined,
    );
    const off = onEvent((event) => {
      if (event.type === 'progress') setRuns((old) => new Map(old).set(event.progress.runId, event.progress));
    });
    return () => {
      live = false;
      off();
    };
  }, [initial]);
  return runs;
}

/**
 * Reloads every 2 s while `pending` > 0: findings whose protect run was started leave the audit's list once
 * their file is protected, which the old plaintext's removal (it may come after the run's last event)
 * does not announce.
 */
export function useSettling(pending: number, reload: () => void): void {
  useEffect(() => {
    if (pending <= 0) return;
    const timer = setInterval(reload, 2000);
    return () => {
      clearInterval(timer);
    };
  }, [pending, reload]);
}
