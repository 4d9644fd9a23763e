/** framewire's public API. */
export { connect, FramewireClient, type Frame, type ConnectOptions, type ReconnectOptions, type TlsClientOptions } from './client/client.js';
export type { ClientStats, LatencySummary } from './client/stats.js';
export { startServer, type RunningServer, type ExtraTransport } from './server/server.js';
export { httpTransport, type HttpTransportOptions } from './server/http/http-transport.js';
export { DEFAULT_SERVER_CONFIG, resolveServerConfig, type ServerConfig, type ServerOptions } from './server/config.js';
export { DEFAULT_AUTH_LIMITS, type AuthLimits } from './server/auth-limiter.js';
export { generateToken } from './server/token.js';
export { FramewireError, ERROR_CODES, type ErrorCode, isFramewireError } from './errors.js';
export type { Source, SourceSink, SourceInfo, SourceEvent, RawFrame, SourceRequest } from './sources/source.js';
export { TestPatternSource } from './sources/testpattern.js';
export * as protocol from './protocol/index.js';
