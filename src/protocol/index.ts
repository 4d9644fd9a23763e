export * from './constants.js';
export * from './messages.js';
export { encodeMessage, encodeFrameHeader } from './encode.js';
export { MessageDecoder, type DecodeResult, type DecoderOptions } from './decoder.js';
export * from './seed.js';
