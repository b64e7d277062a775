/**
 * The tray icons main.ts asks for exist for every state, at 1x and @2x, are real PNGs of the sizes tray areas
 * use, and go into the installers (electron-builder extraResources → resources/tray). The macOS template
 * images are black and alpha only: macOS tints them, any colour would be lost or wrong in dark mode.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cofferBuildConfig } from '../../electron-builder.js';
import { TRAY_STATES, trayIconFiles } from './tray-state.js';

const BUILD = path.resolve(import.meta.dirname, '../../build');

/** Width, height and RGBA pixels of an 8-bit RGBA PNG as make-icons.mjs writes it (filter 0 rows). */
function readPng(file: string): { width: number; height: number; rgba: Buffer } {
  const bytes = fs.readFileSync(file);
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('ascii', offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9]]).toEqual([8, 6]); // 8-bit RGBA
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    raw.copy(rgba, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  }
  return { width, height, rgba };
}

describe('tray icons', () => {
  for (const platform of ['darwin', 'win32', 'linux'] as const) {
    it(`exist for every state on ${platform}, 16 px and @2x 32 px`, () => {
      for (const state of TRAY_STATES) {
        for (const file of trayIconFiles(state, platform)) {
          const one = readPng(path.join(BUILD, file));
          const two = readPng(path.join(BUILD, file.replace(/\.png$/, '@2x.png')));
          expect([one.width, one.height, two.width, two.height]).toEqual([16, 16, 32, 32]);
          // Something is drawn: at least a quarter of the square is opaque.
          const opaque = [...Array(one.width * one.height).keys()].filter(
            (i) => (one.rgba[i * 4 + 3] ?? 0) > 128,
          );
          expect(opaque.length, file).toBeGreaterThan(64);
        }
      }
    });
  }

  it('are black and alpha only in the macOS template images, and differ by shape between states', () => {
    const shapes = new Set<string>();
    for (const state of TRAY_STATES) {
      const { rgba } = readPng(path.join(BUILD, `tray-${state}Template@2x.png`));
      const alpha: number[] = [];
      let coloured = 0;
      for (let i = 0; i < rgba.length; i += 4) {
        if (rgba[i] !== 0 || rgba[i + 1] !== 0 || rgba[i + 2] !== 0) coloured++;
        alpha.push((rgba[i + 3] ?? 0) > 128 ? 1 : 0);
      }
      expect(coloured, state).toBe(0);
      shapes.add(alpha.join(''));
    }
    expect(shapes.size).toBe(TRAY_STATES.length);
  });

  it('are packaged beside the app, where main.ts looks for them', () => {
    const config = cofferBuildConfig({});
    const extra = Array.isArray(config.extraResources) ? config.extraResources : [];
    expect(extra).toContainEqual({ from: 'build', to: 'tray', filter: ['tray-*.png'] });
  });
});
