// Golden ids for package text from Hugging Face's Rust tokenizers (npm tokenizers@0.23.2, native napi build,
// offline). The pipeline is exactly what BertTokenizerFast(do_lower_case=True) builds from a vocab.txt:
// BertNormalizer(clean_text, handle_chinese_chars, strip_accents=lowercase, lowercase) + BertPreTokenizer +
// WordPiece(unk [UNK], "##", max_input_chars_per_word 100) + BertProcessing([CLS] $A [SEP]) + the five special
// tokens as added (special) tokens, padding with [PAD] and longest-first truncation that keeps [SEP].
// Run through gen.sh (it sets REF_NODE, SHARED and OUT).
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { REF_NODE, SHARED, OUT } = process.env;
const { rs, version, bertTokenizer, encode } = require('./hf.js');

const MAX_LENGTHS = [0, 2, 3, 4, 8, 16, 32, 128]; // 0 = no truncation, no padding

// The adversarial set: what a tokenizer port gets wrong. Written to adversarial.json for the Go test.
const A = (n, s) => s.repeat(n);
const adversarial = [
  '', ' ', '\t\n\r ', 'a',
  'The left ventricular ejection fraction is normal.',
  'LVEF 55%', 'LVEF 55 %', 'LVEF=55%.', 'EF 55-60%.', 'LVEF: 55 %; RVEF: 48%', '2.5x3.1 cm', '2.5 x 3.1 cm', '2,5×3,1 cm',
  '1.2.3 1,000,000 0.5mm .5 cm 5. 10th 3rd', 'i.e. normal', 'e.g., LGE', 'vs.', 'approx. 5 mm', 'Dr. X', 'No. 3', 'q.d. b.i.d.',
  'FINDINGS: Normal. IMPRESSION: Normal.', 'FINDINGS:,1.  Left atrial enlargement.,2.  Normal LV.',
  'MiXeD CaSe LV/RV lv/rv Lv', 'T2*-weighted STIR', 'T1 mapping: 1020 ms; ECV 28%.', 'NT-proBNP 1,234 pg/mL',
  'Café crème naïve résumé', 'Ångström Øresund Łódź Ærø ĳ', 'İstanbul ıi İ', 'straße STRASSE ẞ', 'ﬁbrosis ﬃ ﬆ',
  'ＬＶＥＦ　５５％', 'e\u0301 vs é', 'a\u0308\u0301 a\u0301\u0308 a\u0323\u0307 a\u0307\u0323', '\u0301start and end\u0301',
  'Ĺ̷̢ z͑̓͆a̦̮l̙̣g̬o̝͈', 'ǅ ǆ Ǆ', 'Ⅻ ⅻ ㎖ ㎎ ½ ¼ ² ³ ₂',
  'zero\u200Bwidth', 'soft\u00ADhyphen', 'zwj\u200Dzwnj\u200C', 'bom\uFEFFhere', 'rtl\u200Fmark\u202Eoverride\u202C',
  'word\u2060joiner', 'mongolian\u180Evs', 'arabic\u061Cmark \u0600\u0601', 'tag\u{E0041}\u{E007F}chars',
  'nbsp\u00A0here', 'thin\u2009space', 'line\u2028sep\u2029para', 'nel\u0085next', 'ogham\u1680space',
  'ideographic\u3000space', 'narrow\u202Fnbsp', 'medium\u205Fmath',
  'ctrl\u0000nul\u0001soh\u0007bel\u001Besc\u007Fdel', 'vt\u000Bff\u000C', 'fs\u001Cgs\u001Drs\u001Eus\u001F',
  'c1\u0080\u009F', 'replacement\uFFFDchar', 'private\uE000use\u{F0000}', 'noncharacter\uFFFF', 'unassigned\u0378x',
  'lone\uD800surrogate',
  '心脏 磁共振 成像', '心臓MRI検査', '심장 자기공명영상', 'ｶﾀｶﾅ カタカナ ひらがな', '𠀀𪜀𫝀𫠠𬺰 ext B-F', '豈 更 (compat) \u{2F800}\u{2FA1D}',
  '\u{2B820}\u{2B91F}\u{2B920} (gap in HF ranges)', '〇 ㈠ ㊀',
  'emoji ❤️ 🫀 👍🏽 👨‍⚕️ 🇺🇸 1️⃣', '☺ ♥ ★ ✓ ✗',
  'Ελληνικά ΣΊΣΥΦΟΣ ά ΐ', 'Русский текст ЁЖ й', 'עברית שָׁלוֹם', 'العربية ـ مَرْحَبًا', 'हिन्दी क़', 'ไทย น้ำ',
  'Dives Akuru \u{11938} Hanunoo \u1734x Sharada \u{111C9}x Cf \u0890x Adlam \u{1E922}\u{1E944}x',
  'Beria \u{16EA0} Garay \u{10D50} Latin \uA7CB \uA7DC Cyrillic \u1C89 Georgian Ა',
  A(99, 'a'), A(100, 'a'), A(101, 'a'), A(102, 'a'), A(103, 'a'), A(104, 'a'), A(150, 'b') + ' ok',
  A(100, 'é'), A(101, 'é'), A(60, 'e\u0301'), A(101, 'e\u200B'), A(50, 'ab') + '.' + A(60, 'c'),
  A(100, '心'), A(33, 'x') + A(34, '\u00C0') + A(34, 'y'), A(100, '\u{1F600}'), A(101, '\u{1F600}'),
  'pneumonoultramicroscopicsilicovolcanoconiosis', 'hypertrophiccardiomyopathy', 'unremarkable unremarkably',
  '[CLS] the [SEP] [MASK] [PAD] [UNK] [cls] [Sep]', 'x[SEP]y', '[[SEP]]', '[SEP', 'SEP]', '[ SEP ]', '[MASK][MASK]', '[unused0] [unused1]',
  'tab\tseparated\tvalues\nnew\nline\r\ncrlf\rcr', '  multiple     spaces   ', '\n\nFINDINGS:\n\n- bullet one\n• bullet two\n',
  '...', '!!!???', '---', '(LV)', '"quoted"', '“smart quotes” ‘single’ „low“', '«guillemets» ‹single›', '—em dash–en dash‐hyphen',
  '§ ¶ † ‡ • · … ‰ ′ ″', '$100 €50 £3 ¥ ₹', '+/- ± ≥ ≤ → × ÷ √ ∞', '~`^|<>=', '50°C 37 °C', '1/2 ½', 'x² m³ H₂O',
  '10^-3 1e-5 5E+3', '#hashtag @at &amp; _under_score_', 'inside▁word ▁lead', '¿Qué? ¡Sí!', '、。「」『』【】〜', '٫٬ ۔',
  'Mixed 123abc abc123 a1b2c3', 'ASCII ~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./',
  'CARDIAC MRI REPORT\nIndication: chest pain, r/o myocarditis.\nTechnique: SSFP cine, T2 STIR, LGE (0.15 mmol/kg ' +
    'gadobutrol).\nFindings: LVEDV 162 mL (85 mL/m²), LVEF 48% (mildly reduced). Subepicardial LGE in the basal ' +
    'inferolateral wall (segments 5–6), i.e. non-ischaemic pattern. RV normal; no pericardial effusion.\n' +
    'IMPRESSION:\n1. Findings c/w acute myocarditis (Lake Louise criteria met).\n2. Mildly reduced LVEF ~48 %.',
];

function escapeJSON(v) {
  return JSON.stringify(v, null, 0).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const sha = (ids) => crypto.createHash('sha256').update(ids.join(',')).digest('hex');

async function vocabGolden(name, vocabFile) {
  const t = await bertTokenizer(vocabFile);
  const recs = [];
  const meta = { set: 'meta', tokenizers: version, vocab: path.basename(path.dirname(vocabFile)) + '/vocab.txt',
    vocab_sha256: crypto.createHash('sha256').update(fs.readFileSync(vocabFile)).digest('hex') };
  recs.push(meta);
  // 1. every mtsamples report, whole (no truncation), keyed by file and line
  const mtdir = path.join(SHARED, 'mtsamples');
  for (const f of fs.readdirSync(mtdir).filter((f) => f.endsWith('.jsonl')).sort()) {
    const rows = fs.readFileSync(path.join(mtdir, f), 'utf8').split('\n').filter((l) => l.trim());
    for (let i = 0; i < rows.length; i++) {
      const r = JSON.parse(rows[i]);
      const { ids, mask } = await encode(t, r.transcription, 0);
      if (mask.some((m) => m !== 1)) throw new Error('mask');
      recs.push({ set: 'mtsamples', file: f, line: i, note_id: r.note_id, ids });
      // and truncated + padded to 128 and 512 (the BERT limit), attention mask included
      for (const L of [128, 512]) {
        const e = await encode(t, r.transcription, L);
        recs.push({ set: 'mtsamples', file: f, line: i, note_id: r.note_id, max_length: L, ids_sha256: sha(e.ids), mask_sha256: sha(e.mask) });
      }
    }
  }
  // 2. the adversarial set at every max length
  for (let i = 0; i < adversarial.length; i++) {
    for (const L of MAX_LENGTHS) {
      const { ids, mask } = await encode(t, adversarial[i], L);
      recs.push({ set: 'adversarial', index: i, max_length: L, ids, mask });
    }
  }
  // 3. a sweep over the vocabulary: every entry as a word, in chunks of 256 entries joined by a space
  for (let start = 0; start < t.lines.length; start += 256) {
    const text = t.lines.slice(start, start + 256).join(' ');
    const { ids } = await encode(t, text, 0);
    recs.push({ set: 'vocab', start, count: Math.min(256, t.lines.length - start), n_ids: ids.length, ids_sha256: sha(ids) });
  }
  const file = path.join(OUT, `hf-${name}.jsonl.gz`);
  fs.writeFileSync(file, zlib.gzipSync(recs.map(escapeJSON).join('\n') + '\n', { level: 9 }));
  console.log(name, recs.length, 'records ->', file);
}

// Every code point through the normalizer (three option sets) and the pre-tokenizer, run-length encoded:
// class k = unchanged, x = removed, s = became one space, c = surrounded by spaces (CJK), m = mapped (output
// listed in "mapped", in order).
function codepoints() {
  const variants = {
    uncased: rs.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }),
    cased: rs.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false }),
    lower_keep_accents: rs.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: true }),
  };
  const pre = rs.bertPreTokenizer();
  const out = { tokenizers: version, note: 'code points 0..10FFFF without surrogates; runs are [class, count]', normalizers: {} };
  const rle = () => { const runs = []; return { runs, add(c) { const l = runs[runs.length - 1]; if (l && l[0] === c) l[1]++; else runs.push([c, 1]); } }; };
  for (const [name, n] of Object.entries(variants)) {
    const r = rle(); const mapped = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const o = n.normalizeString(c);
      if (o === c) r.add('k'); else if (o === '') r.add('x'); else if (o === ' ') r.add('s');
      else if (o === ' ' + c + ' ') r.add('c'); else { r.add('m'); mapped.push(o); }
    }
    out.normalizers[name] = { runs: r.runs, mapped };
  }
  const r = rle();
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const n = pre.preTokenizeString('a' + String.fromCodePoint(cp) + 'a').length;
    r.add(n === 1 ? 'k' : n === 2 ? 's' : n === 3 ? 'p' : '?');
  }
  out.pretokenizer = { note: 'k = part of a word, s = whitespace (splits, removed), p = punctuation (isolated)', runs: r.runs };
  const file = path.join(OUT, 'hf-codepoints.json.gz');
  fs.writeFileSync(file, zlib.gzipSync(escapeJSON(out), { level: 9 }));
  console.log('codepoints ->', file);
}

// Small tokenizer.json files saved by HF itself (vocab inlined), to test loading that format.
async function tokenizerJSON() {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'left', 'vent', '##ric', '##ular', '##le', 'ejection',
    'fraction', 'is', 'normal', 'reduced', '.', ',', '%', ':', '(', ')', '-', '/', '55', '5', '##5', 'lv', '##ef', 'mri', 'cardiac',
    't', '##2', '*', 'late', 'gad', '##olin', '##ium', 'enhancement', 'hyper', '##tro', '##phy', 'myo', '##card', '##ial',
    '##itis', 'cafe', 'café', 'Café', 'The', 'Left', 'LV', '##EF', 'MRI', 'Normal', '心', 'a', 'b', 'c', '##s', 'with', 'no', 'un',
    '##re', '##mark', '##able', 'and', 'of', 'in', 'mm', 'ml', 'i', 'e', 'g', 'x', '##x', '##a', '##e', 'ı', 'i̇', 'naive', 'naïve'];
  const dir = path.join(OUT, 'tokenizer-json');
  const vf = path.join(dir, 'vocab.txt');
  fs.writeFileSync(vf, vocab.join('\n') + '\n');
  const variants = {
    'uncased-bertprocessing': {},
    'uncased-template': { template: true },
    'cased': { lowercase: false, stripAccents: false },
    'lower-keep-accents': { lowercase: true, stripAccents: false },
  };
  const recs = [];
  for (const [name, opts] of Object.entries(variants)) {
    const t = await bertTokenizer(vf, opts);
    t.tok.save(path.join(dir, `${name}.json`), true);
    for (let i = 0; i < adversarial.length; i++) {
      for (const L of [0, 16]) {
        const { ids, mask } = await encode(t, adversarial[i], L);
        recs.push({ tokenizer: name, index: i, max_length: L, ids, mask });
      }
    }
  }
  fs.unlinkSync(vf);
  fs.writeFileSync(path.join(dir, 'golden.jsonl.gz'), zlib.gzipSync(recs.map(escapeJSON).join('\n') + '\n', { level: 9 }));
  console.log('tokenizer.json variants ->', dir);
}

async function main() {
  fs.writeFileSync(path.join(OUT, 'adversarial.json'), '[\n' + adversarial.map(escapeJSON).join(',\n') + '\n]\n');
  await vocabGolden('pubmedbert', path.join(SHARED, 'pubmedbert-vocab/vocab.txt'));
  await vocabGolden('bert-base-uncased', path.join(SHARED, 'bert-base-uncased-vocab/vocab.txt'));
  await tokenizerJSON();
  codepoints();
}
main().catch((e) => { console.error(e); process.exit(1); });
