import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Rng, mutate } from '../../fuzz/mutate.js';
import { targets } from '../../fuzz/targets.js';

const dir = 'test/vectors/fuzz-regressions';

test('every saved fuzz regression vector now passes its target', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.hex'));
  assert.ok(files.length >= 3, 'the hand-picked tricky inputs are there');
  for (const f of files) {
    const target = targets.find((t) => f.startsWith(`${t.name}-`));
    assert.ok(target, `${f} names a known target`);
    const hex = readFileSync(`${dir}/${f}`, 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s/g, '');
    for (let s = 1; s <= 5; s++) target.run(Buffer.from(hex, 'hex'), new Rng(s));
  }
});

test('each fuzz target survives a short burst of mutated inputs (the harness itself works)', async () => {
  for (const t of targets) {
    const rng = new Rng(12345);
    const corpus = await t.seeds();
    for (let i = 0; i < 300; i++) t.run(mutate(corpus[rng.int(corpus.length)]!, rng), new Rng(i + 1));
  }
});
