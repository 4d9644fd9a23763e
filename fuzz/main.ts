/**
 * `npm run fuzz [-- --seconds N] [--target NAME] [--seed S]`: mutation fuzzing of every parser a peer can
 * reach, for a bounded time. Each input that breaks an invariant is saved as a regression vector under
 * test/vectors/fuzz-regressions/ (replayed by the test suite) and the run exits 1.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mutate, Rng } from './mutate.js';
import { targets } from './targets.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, target: { type: 'string' }, seed: { type: 'string' } } });
const seconds = Number(values.seconds);
const chosen = targets.filter((t) => !values.target || t.name === values.target);
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
const dir = 'test/vectors/fuzz-regressions';
let failures = 0;

console.log(`fuzzing ${chosen.map((t) => t.name).join(', ')} for ${seconds} s in all (seed ${seed})`);
for (const t of chosen) {
  const rng = new Rng(seed ^ t.name.length);
  const corpus = await t.seeds();
  const deadline = performance.now() + (seconds * 1000) / chosen.length;
  let runs = 0;
  let crashes = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 200; i++) {
      const base = corpus[rng.int(corpus.length)]!;
      const input = rng.int(10) === 0 ? rng.bytes(rng.int(512)) : mutate(base, rng);
      runs++;
      try {
        t.run(input, new Rng(rng.next()));
      } catch (e) {
        crashes++;
        failures++;
        mkdirSync(dir, { recursive: true });
        const name = `${dir}/${t.name}-${createHash('sha256').update(input).digest('hex').slice(0, 12)}.hex`;
        writeFileSync(name, `# ${t.name}: ${String(e).split('\n')[0]}\n${Buffer.from(input).toString('hex')}\n`);
        console.log(`  CRASH ${t.name}: ${String(e).split('\n')[0]} → ${name}`);
      }
    }
  }
  console.log(`${t.name.padEnd(18)} ${String(runs).padStart(9)} inputs, ${crashes} failing`);
}
process.exit(failures > 0 ? 1 : 0);
