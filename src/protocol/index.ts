export * from './constants.js';
export * from './messages.js';
export { encodeMessage, encodeFrameHeader } from './encode.js';
export { MessageDecoder, isFramewireStart, parseSupportedVersions, versionRejectText, type DecodeResult, type DecoderOptions } from './decoder.js';
export * from './seed.js';
