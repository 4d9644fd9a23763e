/** TLS certificate and key for the TCP and HTTP ports: loaded from files, or generated at start. */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FramewireError } from '../errors.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the certificate, "AA:BB:…" (what `view --tls-fingerprint` pins). */
  fingerprint256: string;
}

function fingerprintOf(certPem: string): string {
  try {
    return new X509Certificate(certPem).fingerprint256;
  } catch (e) {
    throw new FramewireError('E_TLS', `not a PEM certificate: ${String(e)}`, { cause: e });
  }
}

export async function loadTlsMaterial(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const read = async (p: string, what: string): Promise<string> => {
    try {
      return await readFile(p, 'utf8');
    } catch (e) {
      throw new FramewireError('E_TLS', `cannot read the TLS ${what} ${p}: ${(e as Error).message}`, { cause: e });
    }
  };
  const [cert, key] = await Promise.all([read(certPath, 'certificate (--tls-cert)'), read(keyPath, 'key (--tls-key)')]);
  return { cert, key, fingerprint256: fingerprintOf(cert) };
}

/** A fresh self-signed certificate for this run, valid for localhost and the given names/addresses. */
export async function selfSignedTlsMaterial(names: string[] = []): Promise<TlsMaterial> {
  const altNames = [
    { type: 2 as const, value: 'localhost' },
    { type: 7 as const, ip: '127.0.0.1' },
    { type: 7 as const, ip: '::1' },
    ...names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
  ];
  // Loaded on demand: the certificate library costs ~15 MB of memory that a server without TLS never needs.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'framewire' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames }],
  });
  return { cert: pems.cert, key: pems.private, fingerprint256: fingerprintOf(pems.cert) };
}
