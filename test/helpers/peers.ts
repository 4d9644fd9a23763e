/**
 * Peers speaking from a chosen loopback address (127.x.y.z all reach this machine), to stand in for many
 * hosts: an attacker's many addresses, a viewer at another one.
 */
import http from 'node:http';
import net from 'node:net';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';

/** The n-th stand-in host address: 127.0.1.1, 127.0.1.2, … (never 127.0.0.1, the honest clients' address). */
export function hostAddress(n: number): string {
  return `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

export interface HelloResult {
  /** 'accept', or the REJECT/ERROR code, or 'closed' when the server closed without a word. */
  result: string;
  ms: number;
}

/** One framewire/1 hello from localAddress; resolves with the server's answer and closes. */
export function helloFrom(port: number, localAddress: string, token: string, timeoutMs = 15_000): Promise<HelloResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      s.write(encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 5, quality: 50, token }));
    });
    const d = new MessageDecoder({ maxMessageBytes: 1 << 20 });
    let done = false;
    const finish = (result: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ result, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    s.on('data', (c: Buffer) => {
      for (const m of d.push(c).messages) finish(m.type === 'reject' || m.type === 'error' ? m.code : m.type);
    });
    s.on('error', () => finish('error'));
    s.on('close', () => finish('closed'));
  });
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One GET from localAddress (a fresh connection), with the given headers; the body is read in full. */
export function httpFrom(port: number, path: string, localAddress = '127.0.0.1', headers: http.OutgoingHttpHeaders = {}, timeoutMs = 15_000): Promise<HttpResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  });
}

/** A logger that keeps every line, for asserting what was logged and how much. */
export function recordingLogger(): { lines: string[]; log: { info(m: string): void; warn(m: string): void; error(m: string): void } } {
  const lines: string[] = [];
  return {
    lines,
    log: { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) },
  };
}
