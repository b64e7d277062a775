/**
 * The handler table: one plain function per contract method, thin glue over the ports. No Electron import,
 * so main registers these on ipcMain and the e2e tests bind the very same functions into real Chromium.
 * Payloads arrive already validated by `handle` (handle.ts).
 */
import os from 'node:os';
import { CofferError } from '../../crypto/errors.js';
import type { AboutInfo, CofferEvent, FileInspection } from '../shared/contract.js';
import { clearCount, splitClear } from '../shared/clear-split.js';
import { recordInFolder } from './adapters/device-restore.js';
import type { HandlerTable } from './handle.js';
import type { Ports } from './ports.js';

/** App-wide actions that are more than one port (the composition root provides them). */
export interface AppActions {
  /** Saves and wipes the edit workspace, records it and tells the window; returns how many files. */
  lock(reason: 'user'): Promise<number>;
  /** Versions and policy source for the About panel (about.ts). */
  about(): Promise<AboutInfo>;
  /** Folders whose files stayed in the clear past the tray's threshold (ClearNotifier.stuck()). */
  stuckFolders?: () => ReadonlySet<string>;
}

export function createHandlers(
  ports: Ports,
  emit: (event: CofferEvent) => void,
  app: AppActions,
): HandlerTable {
  const { keys, folders, workspace, files, helpdesk, policy, settings, updates, activity, dialog, shell } =
    ports;
  const { deviceRestore } = ports;
  /** Only paths the helpdesk picked through the native dialog may be restored (not any path the UI names). */
  let picked = new Set<string>();

  /** Runs an action and writes its outcome to the activity log, success or failure alike. */
  async function recorded<T>(
    action: string,
    target: string,
    run: () => Promise<T>,
    detail?: (v: T) => string,
  ) {
    try {
      const value = await run();
      activity.record({ action, target, outcome: 'ok', ...(detail ? { detail: detail(value) } : {}) });
      emit({ type: 'changed', what: 'activity' });
      return value;
    } catch (error) {
      const message = error instanceof CofferError ? `${error.code}: ${error.message}` : 'failed';
      activity.record({ action, target, outcome: 'error', detail: message });
      emit({ type: 'changed', what: 'activity' });
      throw error;
    }
  }

  return {
    async getOverview() {
      const [list, keychain, recovery] = await Promise.all([
        folders.list(),
        keys.keychainStatus(),
        keys.recoveryStatus(),
      ]);
      const lastRun = list
        .map((f) => f.lastRun)
        .filter((r) => r !== null)
        .sort((a, b) => b.at - a.at)[0];
      const { status, origin, problems } = policy.view();
      // The tray's split (clear-split.ts): the Overview says "being protected" for the same files it does.
      const split = splitClear(list, folders.runs(), app.stuckFolders?.());
      return {
        policy: { status, origin, problems },
        folders: list.length,
        filesProtected: list.reduce((n, f) => n + f.protectedFiles, 0),
        plaintextWaiting: list.reduce((n, f) => n + f.plaintextFiles, 0),
        // A gone folder has no count of its own (the status layer's unreadable root): it is said as
        // unavailable instead. One whose drive is not mounted still counts the files it can see (clear-split).
        inTheClear: clearCount(list.filter((f) => f.unavailable !== 'missing')),
        beingProtected: clearCount(split.beingProtected),
        unavailable: split.unavailable.map((f) => ({ path: f.path, reason: f.unavailable ?? 'missing' })),
        notRecoverable: list.some((f) => f.notRecoverableFiles === undefined)
          ? null
          : list.reduce((n, f) => n + (f.notRecoverableFiles ?? 0), 0),
        lastRun: lastRun ?? null,
        keychain,
        recovery,
      };
    },
    getPolicy: () => policy.view(),
    getAbout: () => app.about(),
    getSettings: () => settings.get(),
    async setAutoLock({ minutes }) {
      const next = await recorded('Change auto-lock', minutes === null ? 'never' : `${minutes} min`, () =>
        Promise.resolve(settings.setAutoLock(minutes)),
      );
      emit({ type: 'changed', what: 'settings' });
      return next;
    },
    getUpdateStatus: () => updates.current(),
    checkForUpdates: () => updates.checkNow(),
    async lock() {
      return { wiped: await app.lock('user') };
    },

    listFolders: () => folders.list(),
    async addFolder() {
      const path = await dialog.pickFolder('Choose a folder to protect');
      if (path === null) return null;
      const view = await recorded('Add folder', path, () => folders.add(path));
      emit({ type: 'changed', what: 'folders' });
      return view;
    },
    async removeFolder({ folderId }) {
      const view = (await folders.list()).find((f) => f.id === folderId);
      if (!view)
        throw new CofferError('NOT_FOUND', 'That folder is not in Coffer.', 'Refresh the folder list.');
      // The policy decides (an invalid policy refuses too), not the view's `mandatory` flag.
      policy.assertCanRemoveFolder(view.path);
      await recorded('Remove folder', view.path, () => folders.remove(folderId));
      emit({ type: 'changed', what: 'folders' });
      return { removed: true };
    },
    protectFolder: ({ folderId }) => recorded('Protect', folderId, () => folders.protect(folderId)),
    async unprotectFolder({ folderId }) {
      const view = (await folders.list()).find((f) => f.id === folderId);
      if (!view)
        throw new CofferError('NOT_FOUND', 'That folder is not in Coffer.', 'Refresh the folder list.');
      // Decrypting in place, and the folder leaves Coffer when it is done: both must be allowed.
      policy.assertCanUnprotect();
      policy.assertCanRemoveFolder(view.path);
      return recorded('Unprotect', view.path, () => folders.unprotect(folderId));
    },
    cancelRun: ({ runId }) => ({ cancelled: folders.cancel(runId) }),
    getRuns: () => folders.runs(),

    listFiles: ({ folderId, dir }) => folders.listFiles(folderId, dir),
    async openForEdit({ folderId, relPath }) {
      const session = await recorded('Open for editing', relPath, () => workspace.open(folderId, relPath));
      // A program or script is never handed to the OS, which would run it (Windows ShellExecute runs an
      // .exe; a stored exec bit makes anything runnable): shown in the file manager instead.
      const problem = session.runnable ? '' : await shell.openPath(session.editPath);
      if (session.runnable) shell.showItemInFolder(session.editPath);
      emit({ type: 'changed', what: 'edits' });
      if (problem) {
        throw new CofferError(
          'OPEN_FAILED',
          `The file is ready for editing, but no app opened it: ${problem}`,
          'Install an app for this kind of file, or use "Decrypt a copy".',
        );
      }
      // The workspace path stays in main: the renderer only needs the session.
      return {
        id: session.id,
        folderId: session.folderId,
        relPath: session.relPath,
        name: session.name,
        openedAt: session.openedAt,
        ...(session.runnable ? { revealed: true } : {}),
      };
    },
    listEdits: () => workspace.list(),
    async closeEdit({ editId }) {
      const result = await recorded('Save edits', editId, () => workspace.close(editId));
      emit({ type: 'changed', what: 'edits' });
      emit({ type: 'changed', what: 'folders' });
      return result;
    },
    async decryptCopy({ folderId, relPath }) {
      // Before the save dialog: never ask where to put a copy that may not be made.
      policy.assertCanDecryptCopy();
      const source = await folders.resolve(folderId, relPath);
      const base = relPath.split('/').pop() ?? 'file';
      const destination = await dialog.pickSavePath('Save a decrypted copy', base.replace(/\.coffer$/, ''));
      if (destination === null) return null;
      await recorded('Decrypt a copy', relPath, () => files.decryptTo(source, destination));
      return { savedTo: destination };
    },
    async showInFileManager({ folderId, relPath }) {
      // Resolved inside the folder by main (never a path from the renderer); nothing is opened or run.
      shell.showItemInFolder(await folders.resolve(folderId, relPath));
      return { shown: true };
    },
    // A `.coffer` file the OS asked Coffer to open (open-file.ts): by token, never a path from the renderer.
    // Inspecting writes nothing (no activity entry either: nothing was done to the file).
    takeOpenedFiles: () => ports.openedFiles.take(),
    inspectOpenedFile: ({ token }) => ports.openedFiles.inspect(token),
    showOpenedFile({ token }) {
      shell.showItemInFolder(ports.openedFiles.pathOf(token));
      return { shown: true };
    },
    async verifyFile({ folderId, relPath }) {
      const source = await folders.resolve(folderId, relPath);
      return recorded('Verify', relPath, () => files.verify(source));
    },

    getRecovery: () => keys.recoveryStatus(),
    async makeRecoveryCode() {
      const made = await recorded(
        'Make recovery code',
        'this device',
        () => keys.makeRecoveryCode(),
        (v) => `key ID ${v.keyId}${v.warnings.length > 0 ? `; ${v.warnings.join('; ')}` : ''}`,
      );
      emit({ type: 'changed', what: 'recovery' });
      return made;
    },
    getRecoveryKit: () =>
      Promise.resolve({ device: os.hostname(), helpdeskContact: policy.view().helpdeskContact }),
    async confirmRecoveryCode({ groups }) {
      await recorded('Confirm recovery code', 'this device', () => keys.confirmRecoveryCode(groups));
      emit({ type: 'changed', what: 'recovery' });
      return { confirmed: true };
    },
    async exportEscrow() {
      const destination = await dialog.pickSavePath('Save a copy of your key record', 'coffer-escrow.json');
      if (destination === null) return null;
      await recorded('Save a copy of the key record', destination, () => keys.exportEscrow(destination));
      return { savedTo: destination };
    },

    previewRecoveryKey: ({ line }) => keys.previewRecoveryKey(line),
    async trustRecoveryKey({ line, label }) {
      const result = await recorded(
        'Trust recovery key',
        label ?? 'organization recovery key',
        () => keys.trustRecoveryKey(line, label),
        (v) => `key ID ${v.keyId}${v.added ? '' : ' (already trusted)'}`,
      );
      emit({ type: 'changed', what: 'recovery' });
      return result;
    },
    async untrustRecoveryKey({ keyId }) {
      const result = await recorded('Stop trusting recovery key', keyId, () =>
        keys.untrustRecoveryKey(keyId),
      );
      emit({ type: 'changed', what: 'recovery' });
      return result;
    },

    async helpdeskLoadKey({ passphrase }) {
      policy.assertHelpdeskTools();
      const file = await dialog.pickFiles('Choose the organization recovery key file');
      const keyFile = file?.[0];
      if (keyFile === undefined) return null;
      const loaded = await recorded(
        'Load recovery key',
        keyFile,
        () => helpdesk.loadKey(keyFile, passphrase),
        (v) => `key ID ${v.keyId}`,
      );
      emit({ type: 'changed', what: 'helpdesk' });
      return loaded;
    },
    helpdeskUnloadKey() {
      helpdesk.unloadKey();
      picked = new Set();
      emit({ type: 'changed', what: 'helpdesk' });
      return { unloaded: true };
    },
    helpdeskStatus() {
      policy.assertHelpdeskTools();
      return { keyId: helpdesk.loadedKeyId() };
    },
    async helpdeskPick({ what }) {
      policy.assertHelpdeskTools();
      const chosen =
        what === 'folder'
          ? await dialog
              .pickFolder('Choose a folder of protected files')
              .then((p) => (p === null ? null : [p]))
          : await dialog.pickFiles('Choose protected files', [
              { name: 'Coffer files', extensions: ['coffer'] },
            ]);
      if (chosen === null || chosen.length === 0) return null;
      const found: FileInspection[] = await helpdesk.inspect(chosen);
      picked = new Set(found.map((f) => f.path));
      return found;
    },
    async helpdeskRestore({ paths, mode }) {
      policy.assertHelpdeskTools();
      const unknown = paths.filter((p) => !picked.has(p));
      if (unknown.length > 0) {
        throw new CofferError(
          'NOT_PICKED',
          'Only files chosen in the picker can be restored.',
          'Pick the files again.',
        );
      }
      let destination: string | null = null;
      if (mode === 'decrypt') {
        destination = await dialog.pickFolder('Choose where to put the restored files');
        if (destination === null) return null;
      }
      return recorded(
        mode === 'decrypt' ? 'Helpdesk restore' : 'Helpdesk rekey',
        `${paths.length} file(s)`,
        () => helpdesk.restore(paths, mode, destination),
      );
    },

    async pickRestoreRecord({ from }) {
      if (from === 'app') return deviceRestore.pick(null);
      const chosen = await dialog.pickFiles('Choose the key record (.coffer-escrow.json)', [
        { name: 'Coffer key record', extensions: ['json'] },
      ]);
      const file = chosen?.[0];
      return file === undefined ? null : deviceRestore.pick(file);
    },
    async restoreDeviceWithCode({ groups }) {
      // The code is never in the activity entry: only what was restored, by key ID.
      const started = await recorded('Restore device key (recovery code)', 'this device', () =>
        deviceRestore.startWithCode(groups),
      );
      return started;
    },
    async deviceRestoreResult({ runId }) {
      const { view, folder } = await recorded(
        'Device key restored',
        'this device',
        () => deviceRestore.result(runId),
        ({ view: v }) =>
          `key ${v.restoredKeyId} restored read-only; key ${v.deviceKeyId} writes${v.newCode ? `; new recovery code ${v.newCode.keyId}` : ''}`,
      );
      emit({ type: 'changed', what: 'recovery' });
      if (folder === null) {
        emit({ type: 'changed', what: 'folders' });
        return view;
      }
      // Procedure E, step 3 (HELPDESK.md): the backup folder is protected again, so it is watched and its
      // record copy is the new one.
      const known = (await folders.list()).find((f) => f.path === folder);
      const entry = known ?? (await recorded('Add folder', folder, () => folders.add(folder)));
      const { runId: protectRunId } = await recorded('Protect', folder, () => folders.protect(entry.id));
      emit({ type: 'changed', what: 'folders' });
      return { ...view, protectRunId };
    },
    async helpdeskPickBackup() {
      policy.assertHelpdeskTools();
      const folder = await dialog.pickFolder('Choose the backup of the protected folder');
      if (folder === null) return null;
      return deviceRestore.pick(recordInFolder(folder), folder);
    },
    async helpdeskRestoreDevice() {
      policy.assertHelpdeskTools();
      return recorded('Helpdesk restore device key', 'this device', () => deviceRestore.startWithKey());
    },

    listActivity: () => activity.list(),
    verifyActivity: () => activity.verify(),
    async exportActivity({ format, filter }) {
      const destination = await dialog.pickSavePath(
        'Export activity',
        `coffer-activity.${format === 'csv' ? 'csv' : 'jsonl'}`,
      );
      if (destination === null) return null;
      const entries = activity.exportTo(destination, format, filter);
      return { savedTo: destination, entries };
    },

    getAudit: () => ports.audit.view(),
    async runAudit({ pick }) {
      let paths: string[] | undefined;
      if (pick) {
        const folder = await dialog.pickFolder('Choose a folder to check for customer data');
        if (folder === null) return null;
        paths = [folder];
      }
      const view = await recorded(
        'Data audit',
        paths?.[0] ?? 'audit folders',
        () => ports.audit.scan(paths),
        (v) =>
          `${v.last?.filesScanned ?? 0} files checked, ${v.last?.filesWithData ?? 0} with customer data, ${v.last?.unprotectedWithData ?? 0} of them not protected`,
      );
      emit({ type: 'changed', what: 'audit' });
      return view;
    },
    cancelAudit: () => ({ cancelled: ports.audit.cancel() }),
    async auditAct(request) {
      const label = {
        'protect-folder': 'Protect folder (audit)',
        move: 'Move into protected folder (audit)',
        delete: 'Delete file (audit)',
      }[request.action];
      const result = await recorded(label, request.path, () => ports.audit.act(request));
      emit({ type: 'changed', what: 'audit' });
      emit({ type: 'changed', what: 'folders' });
      return result;
    },

    getStateReview: () => ports.state.review(),
    async confirmState({ reviewed }) {
      const review = await recorded('Confirm settings', 'app data', () => ports.state.confirm(reviewed));
      emit({ type: 'changed', what: 'folders' });
      emit({ type: 'changed', what: 'recovery' });
      return review;
    },
  };
}
