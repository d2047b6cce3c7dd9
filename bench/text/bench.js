// HF tokenizers side of the text benchmark (bench.sh): tokenizes the corpus (one sentence a line) with the same
// tokenizer golden.js uses, single-threaded (bench.sh sets RAYON_NUM_THREADS=1), and prints the best of 5 runs:
//   encodeBatch   all sentences in one call (Rust loop; napi conversion of inputs and outputs included)
//   encode        one awaited call per sentence (what a per-report caller pays)
const fs = require('node:fs');
const { version, bertTokenizer } = require('../../testdata/gen/text/hf.js');

async function main() {
  const [corpusFile, vocabFile, label] = process.argv.slice(2);
  const corpus = fs.readFileSync(corpusFile, 'utf8').split('\n');
  if (corpus[corpus.length - 1] === '') corpus.pop();
  const bytes = corpus.reduce((n, s) => n + Buffer.byteLength(s), 0);
  const { tok } = await bertTokenizer(vocabFile);
  let tokens = 0;
  for (const e of await tok.encodeBatch(corpus)) tokens += e.getLength();
  const report = (name, secs) => console.log(`HF tokenizers ${version} ${label} ${name}: ${(corpus.length / secs).toFixed(0)} sentences/s, ` +
    `${(bytes / secs / 1e6).toFixed(2)} MB/s, ${(tokens / secs).toFixed(0)} tokens/s (${corpus.length} sentences, ${tokens} tokens, best of 5)`);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    await tok.encodeBatch(corpus);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  report('encodeBatch', best);
  best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (const s of corpus) await tok.encode(s);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  report('encode     ', best);
}
main().catch((e) => { console.error(e); process.exit(1); });
