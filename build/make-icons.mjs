#!/usr/bin/env node
// Draws Coffer's icon (a padlock on a rounded square) and writes every format the installers need:
// build/icons/<n>x<n>.png (Linux), build/icon.png, build/icon.ico (Windows), build/icon.icns (macOS).
// Also the tray icons, one per state of electron/main/tray-state.ts: build/tray-<state>.png (+ @2x) in
// colour for Windows and Linux, and build/tray-<state>Template.png (+ @2x) for the macOS menu bar (black and
// alpha only: macOS tints them for light and dark, so each state differs by shape, not only by colour).
// Plain Node (zlib for PNG), so it runs anywhere without image tools: `node build/make-icons.mjs`.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const here = path.dirname(new URL(import.meta.url).pathname);

const BG = [0x1f, 0x4e, 0x79]; // deep blue
const FG = [0xf4, 0xf1, 0xea]; // paper white

/** Coverage of the shape at (x, y) in a 1x1 unit square: a rounded square with a padlock cut in. */
function inside(x, y) {
  const r = 0.18;
  const dx = Math.max(Math.abs(x - 0.5) - (0.5 - r), 0);
  const dy = Math.max(Math.abs(y - 0.5) - (0.5 - r), 0);
  if (dx * dx + dy * dy > r * r) return null;
  // padlock body
  const body = x > 0.28 && x < 0.72 && y > 0.45 && y < 0.8;
  // shackle: a ring segment above the body
  const sd = Math.hypot(x - 0.5, y - 0.45);
  const shackle = y < 0.47 && sd > 0.13 && sd < 0.19;
  // keyhole
  const keyhole = Math.hypot(x - 0.5, y - 0.58) < 0.05 || (Math.abs(x - 0.5) < 0.02 && y > 0.58 && y < 0.7);
  return (body && !keyhole) || shackle ? FG : BG;
}

function render(size, shape = inside, samples = 4 /* 4x4 supersampling for smooth edges */) {
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const c = shape((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size);
          if (c === null) continue;
          r += c[0];
          g += c[1];
          b += c[2];
          a += 1;
        }
      }
      const o = (py * size + px) * 4;
      if (a > 0) {
        rgba[o] = Math.round(r / a);
        rgba[o + 1] = Math.round(g / a);
        rgba[o + 2] = Math.round(b / a);
      }
      rgba[o + 3] = Math.round((255 * a) / (samples * samples));
    }
  }
  return rgba;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, shape = inside, samples = 4) {
  const rgba = render(size, shape, samples);
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ICO with PNG-compressed entries (Windows Vista and later read them; electron-builder accepts them).
function ico(sizes) {
  const images = sizes.map((s) => png(s));
  const header = Buffer.alloc(6 + 16 * sizes.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(sizes.length, 4);
  let offset = header.length;
  sizes.forEach((s, i) => {
    const e = 6 + 16 * i;
    header[e] = s >= 256 ? 0 : s;
    header[e + 1] = s >= 256 ? 0 : s;
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(images[i].length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += images[i].length;
  });
  return Buffer.concat([header, ...images]);
}

// ICNS with PNG entries: ic07 128, ic08 256, ic09 512, ic10 1024 (512@2x).
function icns() {
  const entries = [
    ['ic07', 128],
    ['ic08', 256],
    ['ic09', 512],
    ['ic10', 1024],
  ].map(([type, size]) => {
    const data = png(size);
    const head = Buffer.alloc(8);
    head.write(type, 0, 'ascii');
    head.writeUInt32BE(data.length + 8, 4);
    return Buffer.concat([head, data]);
  });
  const body = Buffer.concat(entries);
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(body.length + 8, 4);
  return Buffer.concat([head, body]);
}

// ---- Tray icons ---------------------------------------------------------------------------------------
// A padlock filling the square, drawn per state. The glyph in the body (keyhole, dots, "!", dash) is cut out
// of the template images and drawn light (dark on amber) in the colour ones.

function roundedRect(x, y, x0, y0, x1, y1, r) {
  const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
  const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
  return x >= x0 && x <= x1 && y >= y0 && y <= y1 && dx * dx + dy * dy <= r * r;
}
const disc = (x, y, cx, cy, r) => Math.hypot(x - cx, y - cy) <= r;
const box = (x, y, x0, y0, x1, y1) => x >= x0 && x <= x1 && y >= y0 && y <= y1;

const BODY = [0.14, 0.44, 0.86, 0.96];
const inBody = (x, y) => roundedRect(x, y, ...BODY, 0.1);
/** The body's outline only (for "none": nothing is locked in it). */
const bodyRim = (x, y) => inBody(x, y) && !roundedRect(x, y, 0.25, 0.55, 0.75, 0.85, 0.04);

/** A closed shackle: the top half of a ring over the body; `lift` raises it, `open` drops its right leg. */
function shackle(x, y, { lift = 0, open = false } = {}) {
  const cy = 0.36 - lift;
  const d = Math.hypot(x - 0.5, y - cy);
  const ring = y <= cy && d >= 0.17 && d <= 0.29;
  const leftLeg = x >= 0.21 && x <= 0.33 && y >= cy && y <= 0.46;
  const rightLeg = !open && x >= 0.67 && x <= 0.79 && y >= cy && y <= 0.46;
  return ring || leftLeg || rightLeg;
}

const GLYPHS = {
  keyhole: (x, y) => disc(x, y, 0.5, 0.64, 0.085) || box(x, y, 0.46, 0.64, 0.54, 0.82),
  dots: (x, y) => disc(x, y, 0.31, 0.7, 0.07) || disc(x, y, 0.5, 0.7, 0.07) || disc(x, y, 0.69, 0.7, 0.07),
  bang: (x, y) => box(x, y, 0.44, 0.51, 0.56, 0.76) || disc(x, y, 0.5, 0.865, 0.065),
  dash: (x, y) => box(x, y, 0.28, 0.64, 0.72, 0.76),
  none: () => false,
};

/** State → how it is drawn; colours are mid tones that read on light and dark taskbars alike. */
const TRAY = {
  protected: { color: [0x2e, 0x9e, 0x4f], glyph: 'keyhole', shackle: {}, rim: false, ink: FG },
  working: { color: [0x2f, 0x7f, 0xd6], glyph: 'dots', shackle: {}, rim: false, ink: FG },
  attention: { color: [0xf0, 0xa5, 0x00], glyph: 'bang', shackle: {}, rim: false, ink: [0x2b, 0x1d, 0x00] },
  unavailable: { color: [0x8c, 0x8c, 0x8c], glyph: 'dash', shackle: {}, rim: false, ink: FG },
  none: { color: [0x8c, 0x8c, 0x8c], glyph: 'none', shackle: { lift: 0.06, open: true }, rim: true, ink: FG },
};

function trayShape(state, template) {
  const t = TRAY[state];
  const glyph = GLYPHS[t.glyph];
  const body = t.rim ? bodyRim : inBody;
  const black = [0, 0, 0];
  return (x, y) => {
    if (shackle(x, y, t.shackle)) return template ? black : t.color;
    if (!body(x, y)) return null;
    if (glyph(x, y)) return template ? null : t.ink;
    return template ? black : t.color;
  };
}

fs.mkdirSync(here, { recursive: true });
for (const state of Object.keys(TRAY)) {
  for (const template of [false, true]) {
    const base = `tray-${state}${template ? 'Template' : ''}`;
    fs.writeFileSync(path.join(here, `${base}.png`), png(16, trayShape(state, template), 8));
    fs.writeFileSync(path.join(here, `${base}@2x.png`), png(32, trayShape(state, template), 8));
  }
}

fs.mkdirSync(path.join(here, 'icons'), { recursive: true });
for (const size of [16, 32, 48, 64, 128, 256, 512]) {
  fs.writeFileSync(path.join(here, 'icons', `${size}x${size}.png`), png(size));
}
fs.writeFileSync(path.join(here, 'icon.png'), png(1024));
fs.writeFileSync(path.join(here, 'icon.ico'), ico([16, 24, 32, 48, 64, 128, 256]));
fs.writeFileSync(path.join(here, 'icon.icns'), icns());
console.log('icons written to', here);
