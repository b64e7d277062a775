/**
 * A loopback HTTPS collector for auditForward tests: a self-signed certificate for 127.0.0.1 made with
 * openssl, and a server that answers each request as scripted (drops the connection before or after
 * reading the batch, answers 503, or stores it) and keeps every line it stored, duplicates included.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export function selfSignedLoopbackCert(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'collector-key.pem');
  const cert = path.join(dir, 'collector-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
}

export type Mode = 'drop-before-read' | 'drop-after-read' | 'error' | 'ok';

export interface Line {
  source: string;
  seq?: number;
  type: string;
  from?: number;
  to?: number;
}

export class Collector {
  /** Every line received, duplicates included (a batch stored whose answer was lost comes again). */
  readonly raw: Line[] = [];
  readonly modes: Mode[] = [];
  private server: https.Server | null = null;
  port = 0;

  constructor(
    private readonly tls: { key: string; cert: string },
    /** The answer to each request in turn; 'ok' once the list is used up. */
    private readonly script: Mode[],
  ) {}

  async listen(port = 0): Promise<void> {
    this.server = https.createServer(this.tls, (req, res) => {
      const mode = this.script.shift() ?? 'ok';
      this.modes.push(mode);
      if (mode === 'drop-before-read') {
        req.socket.destroy();
        return;
      }
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        if (mode === 'error') {
          res.writeHead(503).end();
          return;
        }
        for (const line of body.split('\n').filter(Boolean)) this.raw.push(JSON.parse(line) as Line);
        if (mode === 'drop-after-read') req.socket.destroy();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server?.close(() => {
        resolve();
      }),
    );
  }

  /** The records after dedupe by seq. */
  unique(): Map<number, Line> {
    const out = new Map<number, Line>();
    for (const l of this.raw) if (l.seq !== undefined) out.set(l.seq, l);
    return out;
  }
}
