/** The server's codec grant (docs/protocol.md §4.1.1): one codec, from what the client offered and what the server serves. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Codec, offeredCodecs } from '../../src/protocol/constants.js';
import { grantCodec } from '../../src/server/framewire/session.js';

describe('codec grant', () => {
  it('a HELLO codecs byte of 0 (every HELLO from before the field) offers JPEG only', () => {
    assert.deepEqual(offeredCodecs(0), [Codec.JPEG]);
    assert.equal(grantCodec(0), Codec.JPEG);
  });

  it('JPEG is always offered, and unknown bits are ignored', () => {
    assert.deepEqual(offeredCodecs(0x02), [Codec.JPEG, Codec.H264]);
    assert.deepEqual(offeredCodecs(0xfd), [Codec.JPEG], 'bits 2..7 name no codec here');
    assert.deepEqual(offeredCodecs(0xff), [Codec.JPEG, Codec.H264]);
  });

  it('a server that serves JPEG only grants JPEG to a client offering H.264', () => {
    assert.equal(grantCodec(0x03), Codec.JPEG);
  });

  it('H.264 is granted when offered and served, JPEG when not offered', () => {
    const both = [Codec.JPEG, Codec.H264];
    assert.equal(grantCodec(0x03, both), Codec.H264);
    assert.equal(grantCodec(0x01, both), Codec.JPEG);
    assert.equal(grantCodec(0, both), Codec.JPEG);
  });
});
