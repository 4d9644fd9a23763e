/**
 * `framewire serve`: flags into options, validated once into a frozen ServerConfig (resolveServerConfig), start the source, the TCP port and
 * (unless --http-port 0) the HTTP port, print where to watch, and shut down cleanly on SIGINT/SIGTERM.
 */
import os from 'node:os';
import { FramewireError } from '../errors.js';
import { stderrLogger } from '../log.js';
import { DEFAULT_SERVER_CONFIG, resolveServerConfig, type ServerConfig } from '../server/config.js';
import { httpTransport } from '../server/http/http-transport.js';
import { startServer, type RunningServer } from '../server/server.js';
import { createSource, parseSourceSpec } from '../sources/spec.js';
import { loadTlsMaterial, selfSignedTlsMaterial, type TlsMaterial } from '../server/tls-material.js';
import { intFlag, parseFlags, stringFlag, wholeFlag, type FlagTable } from './args.js';
import { encoderDescription } from '../pipeline/encoder.js';
import { recordHub } from '../recording/server-recorder.js';
import { chooseServeToken, type ServeToken } from './token-choice.js';

export const SERVE_USAGE = `framewire serve [options]
  --source SPEC        testpattern (default), camera, camera:DEVICE, file:PATH, url:URL, screen[:DISPLAY], ffmpeg:ARGS
  --loop, --no-loop    loop a file source, or play it once and stop (default: loop)
  --no-passthrough     re-encode a JPEG or H.264 source even for clients at its exact size (default: forward it untouched)
  --host ADDR          listen address (default 0.0.0.0: every interface, with a token)
  --port N             framewire/1 + tutorial TCP port (default 8880; 0 = any free port)
  --http-port N        browser viewer, MJPEG, snapshot, status, metrics (default 8080; 0 = off)
  --width W --height H --fps F --quality Q   source size and rate, and the default profile (1280x720@30 q80)
  --max-width W --max-height H --max-fps F   largest size and rate granted (default 3840x2160, 120)
  --max-profiles N     distinct size/quality profiles encoded at once (default 16); more get one at or below theirs
  --encode-budget MPX  encoding clients may cause, megapixels per second over all profiles
                       (default 100 per core: ${DEFAULT_SERVER_CONFIG.encodeBudget / 1e6} here); the default profile is always served
  --allow-upscale      grant pictures larger than the source (default: never, the source's size is the most)
  --max-clients N      streaming clients in all (default 1000)
  --max-clients-per-address N   from one IPv4 address or IPv6 /64 (default 20)
  FRAMEWIRE_TOKEN=T    require this token from every client (from the environment)
  --token-file FILE    the token from the first line of FILE
  --token T            the token on the command line (visible to every user in ps: prefer the two above)
                       With none of these, a server listening beyond loopback generates a token and prints
                       it in the URLs; on loopback (--host 127.0.0.1) no token is required
  --no-token           serve without a token even beyond loopback (anyone who reaches the ports can watch)
  --allow-weak-token   accept a token under 16 characters or with under 8 different ones (warns)
  --allow-seed-clients serve tutorial-format clients even with a token (they cannot send one)
  --hostname NAME      also answer HTTP requests for this host name (DNS rebinding guard; repeatable)
  --allow-origin URL   let pages from this origin open the WebSocket (default: same origin; * any; repeatable)
  --trust-proxy        take HTTP clients' addresses from X-Forwarded-For (behind a reverse proxy only)
  --handshake-timeout MS  (default 5000)     --idle-timeout MS  (default 30000)
  --window N           frames sent ahead of a client's acks (default 2; 1 to 65535)
  --codec C            jpeg, h264 or both (default both: H.264 to framewire/1 clients that offer it when the
                       encoder works here, else JPEG and a log line; h264: refuse to start without it)
  --bitrate KBPS       H.264 bitrate in kbit/s (default 2000; 50 to 100000)
  --gop S              seconds between H.264 keyframes (default 2; 1 to 60)
  --h264-encoder E     auto, libx264, h264_v4l2m2m, h264_vaapi, h264_nvenc or h264_qsv (default auto)
  --max-message BYTES  largest message a client may send (default 4096)
  --tls-cert FILE --tls-key FILE   TLS on the TCP port (tls:// URLs), HTTPS and WSS
  --tls-self-signed    generate a certificate at start and print its SHA-256 fingerprint
  --record DIR         record the default profile as MJPEG segments in DIR
  --segment-seconds N  length of a recorded segment (default 60)
  --record-codec C     jpeg (default: .mjpeg segments) or h264 (MPEG-TS .ts segments, each from a keyframe;
                       needs the H.264 encoder: a failed probe fails the start-up, and --codec jpeg is refused)
  --quiet              log warnings and errors only
  -h, --help           this text`;

export interface RecordChoice {
  dir: string;
  segmentSeconds: number;
  /** jpeg: .mjpeg segments; h264: MPEG-TS (.ts) segments of the H.264 profile at --bitrate. */
  codec: 'jpeg' | 'h264';
}

export type TlsChoice = { kind: 'files'; cert: string; key: string } | { kind: 'self-signed' } | null;

/** Every flag of `serve`; SERVE_USAGE documents each (a test holds the two together). */
export const SERVE_FLAGS = {
  source: { type: 'string' },
  loop: { type: 'boolean' },
  'no-loop': { type: 'boolean' },
  'no-passthrough': { type: 'boolean', default: false },
  host: { type: 'string' },
  port: { type: 'string' },
  'http-port': { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  fps: { type: 'string' },
  quality: { type: 'string' },
  'max-clients': { type: 'string' },
  'max-profiles': { type: 'string' },
  'encode-budget': { type: 'string' },
  'allow-upscale': { type: 'boolean', default: false },
  'max-width': { type: 'string' },
  'max-height': { type: 'string' },
  'max-fps': { type: 'string' },
  'max-clients-per-address': { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'no-token': { type: 'boolean', default: false },
  'allow-weak-token': { type: 'boolean', default: false },
  hostname: { type: 'string', multiple: true },
  'allow-origin': { type: 'string', multiple: true },
  'trust-proxy': { type: 'boolean', default: false },
  'allow-seed-clients': { type: 'boolean', default: false },
  'handshake-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  window: { type: 'string' },
  codec: { type: 'string' },
  bitrate: { type: 'string' },
  gop: { type: 'string' },
  'h264-encoder': { type: 'string' },
  'max-message': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-self-signed': { type: 'boolean', default: false },
  record: { type: 'string' },
  'segment-seconds': { type: 'string' },
  'record-codec': { type: 'string' },
} as const satisfies FlagTable;

export interface ServeChoices {
  config: ServerConfig;
  tls: TlsChoice;
  record: RecordChoice | null;
  /** Where the token came from (what the start-up text says about it). */
  token: ServeToken;
}

/** A repeatable flag's values, each of which may also be a comma-separated list. */
function listFlag(value: unknown): string[] {
  const all = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return all.flatMap((v: unknown) => (typeof v === 'string' ? v.split(',') : [])).map((v) => v.trim());
}

/** The parsed flags, or null when --help asked for the usage instead. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeChoices | null {
  const { values, help } = parseFlags('serve', argv, SERVE_FLAGS);
  if (help) return null;
  if (values.loop === true && values['no-loop'] === true) throw new FramewireError('E_BAD_PARAMS', 'choose either --loop or --no-loop');
  const certFile = stringFlag(values['tls-cert']);
  const keyFile = stringFlag(values['tls-key']);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new FramewireError('E_BAD_PARAMS', '--tls-cert and --tls-key go together');
  }
  if (certFile !== undefined && values['tls-self-signed']) {
    throw new FramewireError('E_BAD_PARAMS', 'choose either --tls-cert/--tls-key or --tls-self-signed');
  }
  const tls: TlsChoice =
    certFile !== undefined && keyFile !== undefined
      ? { kind: 'files', cert: certFile, key: keyFile }
      : values['tls-self-signed']
        ? { kind: 'self-signed' }
        : null;
  const host = stringFlag(values.host) ?? DEFAULT_SERVER_CONFIG.host;
  const token = chooseServeToken(
    { token: stringFlag(values.token), tokenFile: stringFlag(values['token-file']), noToken: values['no-token'] === true },
    env,
    host,
  );
  const httpPort = wholeFlag(values['http-port'], 'http-port');
  const budget = wholeFlag(values['encode-budget'], 'encode-budget');
  // Flags become options; their ranges and every other rule are the configuration's (resolveServerConfig).
  const config = resolveServerConfig({
    source: stringFlag(values.source),
    loop: values['no-loop'] !== true,
    passthrough: !values['no-passthrough'],
    host,
    port: wholeFlag(values.port, 'port'),
    // On the command line 0 turns HTTP off; in a configuration it picks a free port and null turns it off.
    httpPort: httpPort === 0 ? null : httpPort,
    defaults: {
      width: wholeFlag(values.width, 'width'),
      height: wholeFlag(values.height, 'height'),
      fps: wholeFlag(values.fps, 'fps'),
      quality: wholeFlag(values.quality, 'quality'),
    },
    bounds: {
      maxWidth: wholeFlag(values['max-width'], 'max-width'),
      maxHeight: wholeFlag(values['max-height'], 'max-height'),
      maxFps: wholeFlag(values['max-fps'], 'max-fps'),
    },
    maxProfiles: wholeFlag(values['max-profiles'], 'max-profiles'),
    encodeBudget: budget === undefined ? undefined : budget * 1e6,
    allowUpscale: values['allow-upscale'] === true,
    maxClients: wholeFlag(values['max-clients'], 'max-clients'),
    maxClientsPerAddress: wholeFlag(values['max-clients-per-address'], 'max-clients-per-address'),
    token: token.token,
    allowWeakToken: values['allow-weak-token'] === true,
    trustProxy: values['trust-proxy'] === true,
    hostnames: listFlag(values.hostname),
    allowOrigins: listFlag(values['allow-origin']),
    allowSeedClients: values['allow-seed-clients'] === true,
    handshakeTimeoutMs: wholeFlag(values['handshake-timeout'], 'handshake-timeout'),
    idleTimeoutMs: wholeFlag(values['idle-timeout'], 'idle-timeout'),
    maxClientMessageBytes: wholeFlag(values['max-message'], 'max-message'),
    window: wholeFlag(values.window, 'window'),
    // Checked by resolveServerConfig, which names the flag in its E_BAD_PARAMS.
    // Recording H.264 needs a working encoder: with `both`, a failed probe must fail the start-up.
    codec: (values['record-codec'] === 'h264' && values.record !== undefined && (values.codec === undefined || values.codec === 'both') ? 'h264' : stringFlag(values.codec)) as ServerConfig['codec'] | undefined,
    bitrate: wholeFlag(values.bitrate, 'bitrate'),
    gop: wholeFlag(values.gop, 'gop'),
    h264Encoder: stringFlag(values['h264-encoder']) as ServerConfig['h264Encoder'] | undefined,
    log: stderrLogger(values.quiet === true),
  });
  const recordDir = stringFlag(values.record);
  const recordCodec = stringFlag(values['record-codec']) ?? 'jpeg';
  if (recordCodec !== 'jpeg' && recordCodec !== 'h264') throw new FramewireError('E_BAD_PARAMS', `--record-codec must be jpeg or h264, not ${recordCodec}`);
  if (recordCodec === 'h264' && config.codec === 'jpeg') throw new FramewireError('E_BAD_PARAMS', '--record-codec h264 needs H.264: not with --codec jpeg');
  const record = recordDir ? { dir: recordDir, segmentSeconds: intFlag(values['segment-seconds'], 'segment-seconds', 1, 86_400, 60), codec: recordCodec as RecordChoice['codec'] } : null;
  return { config, tls, record, token };
}

/** Addresses a person can paste: loopback plus this machine's external IPv4 addresses when listening on all. */
function reachableHosts(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host.includes(':') ? `[${host}]` : host];
  const ext = Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => !!i && i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
  return ['127.0.0.1', ...ext];
}

/**
 * The start-up text: where to watch, with the token in the URLs when this run generated it (as Jupyter
 * does: the first run is `npm start` and one paste), and what is open to whom.
 */
export function describeEndpoints(server: RunningServer, tls: TlsMaterial | null = null, token: ServeToken | null = null): string {
  const { config } = server;
  const hosts = reachableHosts(config.host);
  const tcpPort = server.tcp.port;
  const http = server.extras[0];
  const [web, stream] = tls ? ['https', 'tls'] : ['http', 'tcp'];
  // A generated token is printed (nobody else knows it); a given one is not repeated into logs and scrollback.
  const shown = config.token === null ? null : token?.kind === 'generated' ? config.token : '…';
  const query = shown === null ? '' : `?token=${shown}`;
  const lines = [`framewire is serving ${server.hub.source.info.description}`];
  for (const h of hosts) {
    if (http) {
      lines.push(`  browser:   ${web}://${h}:${http.port}/${query}`);
      lines.push(`  players:   ffplay "${web}://${h}:${http.port}/stream.mjpg${query}"   (VLC, mpv, OpenCV too)`);
    }
    const pin = tls ? ` --tls-fingerprint ${tls.fingerprint256}` : '';
    lines.push(`  terminal:  ${shown === null ? '' : `FRAMEWIRE_TOKEN=${shown} `}npx framewire view ${stream}://${h}:${tcpPort}${pin}`);
  }
  if (tls) lines.push(`  TLS certificate SHA-256 fingerprint: ${tls.fingerprint256}`);
  const ports = http ? `ports ${tcpPort} and ${http.port}` : `port ${tcpPort}`;
  switch (token?.kind) {
    case 'generated':
      lines.push(`A token was generated for this run (listening on ${config.host} with none given): anyone with it can watch.`);
      lines.push('  Set your own with FRAMEWIRE_TOKEN=… or --token-file FILE; --no-token serves without one.');
      break;
    case 'disabled':
      lines.push(`WARNING: --no-token: anyone who can reach ${ports} on ${config.host} can watch, without a token.`);
      break;
    case 'given':
      if (token.weak) lines.push(`WARNING: the token is weak (${token.weak}): it can be guessed; see docs/security.md.`);
      if (token.onCommandLine) lines.push('Note: --token is visible to every user of this machine (ps); FRAMEWIRE_TOKEN or --token-file is not.');
      break;
    default:
  }
  lines.push(`  tutorial clients: ${tutorialNote(server, tls !== null)}`);
  lines.push('Press Ctrl-C to stop.');
  return lines.join('\n');
}

/** Whether the tutorial's own programs can watch, and why not: they speak neither TLS nor tokens. */
function tutorialNote(server: RunningServer, tls: boolean): string {
  const port = server.tcp.port;
  if (tls) return `cannot connect: port ${port} speaks TLS only, which the tutorial format has no place for`;
  if (server.config.token && !server.config.allowSeedClients) {
    return `refused on port ${port}: a token is set, which the tutorial format cannot send; --allow-seed-clients serves them (then anyone who reaches port ${port} can watch)`;
  }
  if (server.config.token) return `connect to port ${port} as they are, without a token (--allow-seed-clients): anyone who reaches it can watch`;
  return `connect to port ${port} as they are`;
}

async function tlsMaterial(choice: TlsChoice, host: string): Promise<TlsMaterial | null> {
  if (choice === null) return null;
  if (choice.kind === 'files') return loadTlsMaterial(choice.cert, choice.key);
  return selfSignedTlsMaterial(reachableHosts(host).map((h) => h.replace(/^\[|\]$/g, '')));
}

export async function runServe(argv: string[]): Promise<number> {
  const parsed = parseServeArgs(argv);
  if (!parsed) {
    process.stdout.write(SERVE_USAGE + '\n');
    return 0;
  }
  const { config, tls: tlsChoice, record, token } = parsed;
  const tls = await tlsMaterial(tlsChoice, config.host);
  const spec = parseSourceSpec(config.source);
  const source = createSource(spec, config.defaults, { loop: config.loop, h264Passthrough: config.passthrough, codec: config.codec });
  const pem = tls ? { cert: tls.cert, key: tls.key } : undefined;
  const web = tls ? 'https' : 'http';
  const server = await startServer(config, source, {
    extras: config.httpPort === null ? [] : [httpTransport(pem ? { tls: pem } : {})],
    tcp: {
      ...(pem ? { tls: pem } : {}),
      httpUrl: config.httpPort === null ? null : `${web}://${reachableHosts(config.host)[0]}:${config.httpPort}/`,
    },
  });
  const d = config.defaults;
  const recording = record ? recordHub(server.hub, { width: d.width, height: d.height, quality: d.quality }, d.fps, record.dir, record.segmentSeconds, config.log, record.codec === 'h264' ? { codec: 'h264', bitrate: config.bitrate * 1000 } : { codec: 'jpeg' }) : null;
  config.log.info(encoderDescription());
  if (token.kind === 'disabled') config.log.warn(`--no-token: serving without a token on ${config.host}`);
  if (token.weak) config.log.warn(`the token is weak: ${token.weak}`);
  process.stdout.write(describeEndpoints(server, tls, token) + '\n');
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        config.log.warn(`second ${signal}: exiting now`);
        process.exit(1);
      }
      stopping = true;
      config.log.info(`${signal}: saying goodbye to ${server.registry.size} clients and releasing the source`);
      Promise.all([recording?.stop(), server.close()]).then(
        () => resolve(0),
        (e: unknown) => {
          config.log.error(`shutdown: ${String(e)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
