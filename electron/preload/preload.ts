/**
 * The sandboxed preload: exposes the typed `window.coffer` and nothing else (no ipcRenderer, no generic
 * send). Bundled into one CommonJS file by scripts in vite.preload.config.ts, as sandboxed preloads require.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { CofferEvent } from '../shared/contract.js';
import { buildApi } from './api.js';

const api = buildApi(
  (channel, payload) => ipcRenderer.invoke(channel, payload),
  (channel, listener) => {
    // The Electron event object (with its sender) never reaches the page: only the typed payload does.
    const wrapped = (_event: IpcRendererEvent, payload: CofferEvent) => {
      listener(payload);
    };
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
);

contextBridge.exposeInMainWorld('coffer', api);
