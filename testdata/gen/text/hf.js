// The HF tokenizer setup shared by golden.js and bench.js: what BertTokenizerFast(do_lower_case=True) builds
// from a vocab.txt, in HF's Rust tokenizers (npm, napi). REF_NODE names the npm prefix (see gen.sh).
const fs = require('node:fs');
const path = require('node:path');
const REF_NODE = process.env.REF_NODE || '/opt/reference/node-tokenizers';
const rs = require(path.join(REF_NODE, 'node_modules/tokenizers'));
const version = require(path.join(REF_NODE, 'node_modules/tokenizers/package.json')).version;

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

async function bertTokenizer(vocabFile, opts = {}) {
  const lines = fs.readFileSync(vocabFile, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map(lines.map((t, i) => [t.trimEnd(), i]));
  const id = (t) => { if (!vocab.has(t)) throw new Error(`${vocabFile}: no ${t}`); return vocab.get(t); };
  const tok = new rs.Tokenizer(await rs.WordPiece.fromFile(vocabFile, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 }));
  const lower = opts.lowercase ?? true;
  tok.setNormalizer(rs.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: lower, stripAccents: opts.stripAccents ?? lower }));
  tok.setPreTokenizer(rs.bertPreTokenizer());
  tok.setPostProcessor(opts.template
    ? rs.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', id('[CLS]')], ['[SEP]', id('[SEP]')]])
    : rs.bertProcessing(['[SEP]', id('[SEP]')], ['[CLS]', id('[CLS]')]));
  tok.setDecoder(rs.wordPieceDecoder('##', true));
  tok.addSpecialTokens(SPECIAL);
  return { tok, lines, id };
}

async function encode(t, text, maxLength) {
  const { tok, id } = t;
  if (maxLength > 0) {
    tok.setTruncation(maxLength);
    tok.setPadding({ maxLength, padId: id('[PAD]'), padToken: '[PAD]' });
  } else {
    tok.disableTruncation();
    tok.disablePadding();
  }
  const e = await tok.encode(text);
  const ids = e.getIds(), mask = e.getAttentionMask(), types = e.getTypeIds();
  if (types.some((x) => x !== 0)) throw new Error('type ids not all 0');
  if (maxLength > 0 && ids.length !== maxLength) throw new Error(`length ${ids.length} != ${maxLength}`);
  return { ids, mask };
}

module.exports = { rs, version, SPECIAL, bertTokenizer, encode };
