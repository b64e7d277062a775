/**
 * The app's confirm dialog, in place of window.confirm (which Electron shows as an unlabelled native box
 * with no destructive styling). One modal <dialog> at the app root; a button asks through ActionButton's
 * `confirm` prop, other code through `useConfirm()`: `if (!(await ask({...}))) return;`. Focus moves into the dialog (to Cancel, the safe choice), Escape
 * or Cancel answers false, and focus goes back to whatever had it when the question was asked.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
  type ReactNode,
} from 'react';

export interface ConfirmOptions {
  title: string;
  body: ReactNode;
  /** The button that goes ahead, named for what it does ("Unprotect", not "OK"). */
  confirmLabel: string;
  /** Styles the go-ahead button as destructive (data is decrypted, removed or replaced). */
  destructive?: boolean;
}

export type Ask = (options: ConfirmOptions) => Promise<boolean>;

interface Pending extends ConfirmOptions {
  resolve: (answer: boolean) => void;
  /** Focused when the question was asked; focus returns there after. */
  opener: HTMLElement | null;
}

const ConfirmContext = createContext<Ask | null>(null);

export function useConfirm(): Ask {
  const ask = useContext(ConfirmContext);
  if (!ask) throw new Error('useConfirm needs a <ConfirmProvider> above it');
  return ask;
}

export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const ask = useCallback<Ask>(
    (options) =>
      new Promise<boolean>((resolve) => {
        const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
        setPending((old) => {
          old?.resolve(false); // a second question replaces an unanswered one: that one is a no
          return { ...options, resolve, opener };
        });
      }),
    [],
  );
  const answer = useCallback(
    (yes: boolean) => {
      if (!pending) return;
      setPending(null);
      pending.resolve(yes);
    },
    [pending],
  );
  return (
    <ConfirmContext.Provider value={ask}>
      {children}
      {pending ? <ConfirmDialog pending={pending} answer={answer} /> : null}
    </ConfirmContext.Provider>
  );
}

function ConfirmDialog({ pending, answer }: { pending: Pending; answer: (yes: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    // showModal makes the rest of the page inert (focus stays inside) and puts the dialog on top.
    if (!dialog.open) dialog.showModal();
    cancelRef.current?.focus();
    const { opener } = pending;
    return () => {
      if (dialog.open) dialog.close();
      // The opener may be re-rendered or disabled for a moment; give it back focus once it can take it.
      if (opener?.isConnected) opener.focus();
    };
  }, [pending]);
  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      aria-modal="true"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(e) => {
        // Escape: answer no ourselves, so React state and the dialog never disagree.
        e.preventDefault();
        answer(false);
      }}
    >
      <h2 id={titleId}>{pending.title}</h2>
      <div id={bodyId} className="confirm-body">
        {pending.body}
      </div>
      <div className="actions confirm-actions">
        <button
          ref={cancelRef}
          type="button"
          className="btn btn-secondary"
          onClick={() => {
            answer(false);
          }}
        >
          Cancel
        </button>
        <button
          type="button"
          className={pending.destructive ? 'btn btn-danger-solid' : 'btn btn-primary'}
          onClick={() => {
            answer(true);
          }}
        >
          {pending.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
