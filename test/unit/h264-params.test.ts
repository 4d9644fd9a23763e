/**
 * The parameter-set cache (src/codecs/h264/params.ts): keyframes that lack the SPS/PPS their slices use get
 * the cached ones in front, in the order §7.4.1.2.3 requires; everything else passes untouched.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessUnitFromNals, splitAnnexB } from '../../src/codecs/h264/annexb.js';
import { MAX_PARAMETER_SET_BYTES, ParameterSetCache } from '../../src/codecs/h264/params.js';
import { codeOf } from '../helpers/errors.js';
import { makeAud, makePps, makeSei, makeSlice, makeSps } from '../helpers/h264.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const types = (nals: readonly Uint8Array[]): number[] => nals.map((n) => n[0]! & 0x1f);

const SPS = makeSps({ widthMbs: 40, heightMapUnits: 23, crop: { left: 0, right: 0, top: 0, bottom: 4 } }); // 640x360
const PPS = makePps(0, 0);
const idr = (ppsId = 0): Buffer => makeSlice({ idr: true, firstMb: 0, ppsId });

describe('parameter-set cache', () => {
  test('a keyframe without SPS/PPS after one with them gets them, after its AUD and before its SEI', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    const first = accessUnitFromNals([makeAud(), SPS, PPS, idr()]);
    assert.equal(cache.prepare(first), first, 'complete keyframe returned as it is');
    const bare = accessUnitFromNals([makeAud(), makeSei(), idr(), makeSlice({ idr: true, firstMb: 100 })]);
    const fixed = cache.prepare(bare);
    assert.deepEqual(types(fixed.nals), [9, 7, 8, 6, 5, 5]);
    assert.equal(hex(fixed.nals[1]!), hex(SPS));
    assert.equal(hex(fixed.nals[2]!), hex(PPS));
    assert.equal(fixed.keyframe, true);
    // data is the NAL units behind start codes, nothing more.
    assert.deepEqual(splitAnnexB(fixed.data).map(hex), fixed.nals.map(hex));
    assert.equal(cache.stats.completed, 1);
    assert.equal(cache.codec, 'avc1.42001E');
    assert.equal(cache.sps?.width, 640);
    assert.equal(cache.sps?.height, 360);
  });

  test('without an AUD the parameter sets go first', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    cache.prepare(accessUnitFromNals([SPS, PPS, idr()]));
    assert.deepEqual(types(cache.prepare(accessUnitFromNals([idr()])).nals), [7, 8, 5]);
  });

  test('pictures that are not keyframes pass untouched', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    cache.prepare(accessUnitFromNals([SPS, PPS, idr()]));
    const p = accessUnitFromNals([makeAud(), makeSlice({ idr: false, firstMb: 0 })]);
    assert.equal(cache.prepare(p), p);
  });

  test('parameter sets sent out of band (decoder configuration) complete the first keyframe', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    cache.add(SPS);
    cache.add(PPS);
    assert.deepEqual(types(cache.prepare(accessUnitFromNals([makeAud(), idr()])).nals), [9, 7, 8, 5]);
  });

  test('only what is missing is added: a keyframe with its SPS but not its PPS gets the PPS after the SPS', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    cache.add(PPS);
    const au = cache.prepare(accessUnitFromNals([makeAud(), SPS, makeSei(), idr()]));
    assert.deepEqual(types(au.nals), [9, 7, 8, 6, 5]);
  });

  test('the PPS the slices name, and its SPS, are the ones added', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    const sps1 = makeSps({ id: 1, widthMbs: 80, heightMapUnits: 45 });
    cache.add(SPS);
    cache.add(sps1);
    cache.add(PPS);
    cache.add(makePps(5, 1));
    const au = cache.prepare(accessUnitFromNals([idr(5)]));
    assert.deepEqual(au.nals.map(hex), [sps1, makePps(5, 1), idr(5)].map(hex));
    assert.equal(cache.sps?.width, 1280, 'the SPS in force is the keyframe\'s');
  });

  test('a new SPS replaces the old one with the same id', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    cache.prepare(accessUnitFromNals([SPS, PPS, idr()]));
    const big = makeSps({ widthMbs: 120, heightMapUnits: 68, crop: { left: 0, right: 0, top: 0, bottom: 4 } });
    cache.prepare(accessUnitFromNals([big, PPS, idr()]));
    const au = cache.prepare(accessUnitFromNals([idr()]));
    assert.equal(hex(au.nals[0]!), hex(big));
    assert.equal(cache.sps?.width, 1920);
    assert.equal(cache.sps?.height, 1080);
  });

  test('a keyframe whose parameter sets were never seen is E_MALFORMED (no decoder could start there)', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    assert.equal(codeOf(() => cache.prepare(accessUnitFromNals([idr()]))), 'E_MALFORMED');
    cache.add(makePps(0, 3));
    assert.equal(codeOf(() => cache.prepare(accessUnitFromNals([idr()]))), 'E_MALFORMED');
  });

  test('a corrupt or oversized parameter set is E_MALFORMED and leaves the cache as it was', { timeout: 5000 }, () => {
    const cache = new ParameterSetCache();
    cache.prepare(accessUnitFromNals([SPS, PPS, idr()]));
    assert.equal(codeOf(() => cache.add(SPS.subarray(0, 5))), 'E_MALFORMED');
    const huge = Buffer.concat([SPS, Buffer.alloc(MAX_PARAMETER_SET_BYTES, 0x55)]);
    assert.equal(codeOf(() => cache.add(huge)), 'E_MALFORMED');
    assert.equal(hex(cache.prepare(accessUnitFromNals([idr()])).nals[0]!), hex(SPS));
  });
});
