#!/usr/bin/env node
// Writes tests/data/tokenizers/corpus.json: the strings every tokenizer golden is computed on.
// Deterministic (seeded PRNG, no clock, no network): rerunning reproduces the committed file byte for byte.
//   node tools/goldens/tokenizers/make_corpus.js
// Shape: {"texts": [string, ...], "pairs": [[string, string], ...]}.
// Random code points come only from blocks fully assigned by Unicode 14 (what PCRE2 10.42 and utf8proc
// 2.8 know) so a newer JS engine's Unicode tables cannot make the reference disagree with Loom.
'use strict';
const fs = require('fs');
const path = require('path');

let seed = 0x10c0ffee;
function Rand() {  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const Int = (lo, hi) => lo + Math.floor(Rand() * (hi - lo + 1));  // inclusive
const Pick = (a) => a[Math.floor(Rand() * a.length)];
const Chance = (p) => Rand() < p;
const Repeat = (n, f) => Array.from({length: n}, (_, i) => f(i));

const kWords = (
  'the of and to in is was that for it as with be on not he by are this had at from his but have an they ' +
  'which one you were all we her she there would their will when who him been has more if no out do so can ' +
  'what up said about other into than its time only could new them man some these then two first may any like ' +
  'now my such make over our even most me state after also made many did must before back see through way where ' +
  'get much go well your know should down work year because come people just say each those take day good how ' +
  'long little own great under world between both life being under never here old same another while last might ' +
  'us left end use house part place found again show every small water away thing something both think against ' +
  'tokenizer inference engine model sequence attention kernel matrix vector batch latency throughput cache memory ' +
  'transformer embedding softmax gradient parameter quantization benchmark scheduler request response stream ' +
  'unbelievable internationalization misunderstanding counterrevolutionary electroencephalography ' +
  'antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis naïve café résumé façade jalapeño ' +
  'Zürich São Paulo Ångström Dvořák Łódź Ærøskøbing coöperate Straße Maß Œuvre').split(' ');
const kContractions = ["don't", "I'M", "we'll", "they're", "it's", "She'd", "you've", "can't", "won't", "isn't",
  "Y'ALL", "o'clock", "rock'n'roll", "'tis", "I'd've", "he'S", "WE'RE", "it'Ll", "could'VE"];
const kPunct = ['.', ',', '!', '?', ';', ':', '...', ' -', ' --', '—', '–', '…', '?!', '!!', '.)', '),', '"', "'"];

function Sentence() {
  const n = Int(3, 18);
  const ws = Repeat(n, () => {
    if (Chance(0.08)) return Pick(kContractions);
    if (Chance(0.05)) return String(Int(0, 100000));
    let w = Pick(kWords);
    if (Chance(0.07)) w = w.toUpperCase();
    else if (Chance(0.1)) w = w[0].toUpperCase() + w.slice(1);
    return w;
  });
  ws[0] = ws[0][0].toUpperCase() + ws[0].slice(1);
  let s = '';
  for (let i = 0; i < ws.length; ++i) {
    s += (i ? ' ' : '') + ws[i];
    if (i + 1 < ws.length && Chance(0.1)) s += Pick([',', ';', ':', ' -', ' (', ')', '"']);
  }
  return s + Pick(['.', '.', '.', '!', '?', '...', '', '."', '?!', ' .', ' ,']);
}
function Prose() {
  const n = Int(1, 4);
  const joiner = Pick([' ', ' ', '  ', '\n', '\n\n', ' \n']);
  return Repeat(n, Sentence).join(joiner);
}

const kIdents = ['x', 'i', 'idx', 'buf', 'tokens', 'kv_cache', 'num_heads', 'hidden_size', 'Foo', 'BarBaz',
  'self', 'this', 'result', 'n_ctx', 'ptr', '_private', '__init__', 'camelCase', 'SCREAMING_CASE', 'a1b2'];
function Code() {
  const id = () => Pick(kIdents);
  const num = () => String(Pick([0, 1, 2, 3, 16, 42, 255, 1024, 4096, 65535, 3.14159, 1e-5, 0.5]));
  const ind = Pick(['  ', '    ', '\t', '        ', '\t\t']);
  const nl = Chance(0.2) ? '\r\n' : '\n';
  const templates = [
    () => `def ${id()}(${id()}, ${id()}=${num()}):${nl}${ind}return ${id()} + ${num()}${nl}`,
    () => `for (int ${id()} = 0; ${id()} < ${num()}; ++${id()}) {${nl}${ind}${id()}[${id()}] += ${num()};${nl}}`,
    () => `#include <vector>${nl}#include "loom/${id()}.h"${nl}${nl}int main() { return ${num()}; }${nl}`,
    () => `const ${id()} = await fetch("https://example.com/api/v1/${id()}?q=${num()}&lang=en");`,
    () => `{"${id()}": ${num()}, "${id()}": [${num()}, ${num()}, null, true], "nested": {"k": "v\\n"}}`,
    () => `if ${id()} is not None and len(${id()}) >= ${num()}:${nl}${ind}raise ValueError(f"bad {${id()}!r}")`,
    () => `$ ./build/loom bench --model=/tmp/${id()} -j${Int(1, 64)} 2>&1 | tee log.txt`,
    () => `SELECT ${id()}, COUNT(*) FROM ${id()} WHERE ${id()} > ${num()} GROUP BY 1 ORDER BY 2 DESC;`,
    () => `template <typename T>${nl}T ${id()}(const T& a, const T& b) noexcept { return a < b ? b : a; }`,
    () => `    ${id()} = np.zeros((${num()}, ${num()}), dtype=np.float32)  # [batch, hidden]${nl}`,
    () => `fn ${id()}(v: &[u8]) -> Result<u32, String> {${nl}${ind}Ok(v.iter().map(|&b| b as u32).sum())${nl}}`,
    () => `<div class="${id()}"><span>${id()}</span>&nbsp;&amp;&lt;/div&gt;</div>`,
    () => `x = a**2 + b**2; y = x // 3; z = ~y & 0xFF | 0b1010 ^ 0o17; w = z << 2 >> 1;`,
    () => `// TODO(${id()}): handle the ${Pick(kWords)} case${nl}/* ${Pick(kWords)} */ ${id()}->${id()}();`,
    () => `$$\\frac{\\partial L}{\\partial w_{ij}} = \\sum_k \\alpha_k x_k^2 \\cdot \\sqrt{\\beta}$$`,
    () => `| col_a | col_b |${nl}|-------|-------|${nl}| ${num()} | ${id()} |${nl}`,
    () => `    ${nl}${ind}${nl}${ind}${ind}pass${nl}${nl}${nl}`,
  ];
  const n = Int(1, 3);
  return Repeat(n, () => Pick(templates)()).join(Pick([nl, nl + nl, nl + ind]));
}

const kHan = '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多' +
  '天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进' +
  '把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再' +
  '平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应' +
  '路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统' +
  '色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候' +
  '七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像' +
  '找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽' +
  '龘龍鑫驫犇淼焱垚靐鱻麤骉羴猋';
const kHiragana = 'あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんがぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽゃゅょっー';
const kKatakana = 'アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポャュョッーヴ';
const kJaPhrases = ['東京都', 'こんにちは', 'ありがとうございます', 'トークナイザー', '日本語の文章', '形態素解析',
  'ｶﾀｶﾅ', '㍿', '令和', 'ヱヴァンゲリヲン', '〜です。', '「引用」', '（括弧）'];
const kKoPhrases = ['안녕하세요', '대한민국', '토크나이저', '감사합니다', '한국어 문장입니다', '서울특별시', '읽다', '닭'];
function Cjk() {
  const kind = Int(0, 3);
  if (kind === 0) return Repeat(Int(2, 40), () => Pick(kHan) + (Chance(0.1) ? Pick(['，', '。', '、', '！', '？', ' ']) : '')).join('');
  if (kind === 1) return Repeat(Int(1, 6), () => Chance(0.5) ? Pick(kJaPhrases) :
      Repeat(Int(1, 8), () => Pick(Chance(0.5) ? kHiragana : kKatakana)).join('')).join(Pick(['', '、', '。', ' ']));
  if (kind === 2) return Repeat(Int(1, 6), () => Chance(0.6) ? Pick(kKoPhrases) :
      Repeat(Int(1, 5), () => String.fromCodePoint(Int(0xac00, 0xd7a3))).join('')).join(' ');
  return `${Pick(kWords)} ${Pick(kHan)}${Pick(kHan)} ${Pick(kJaPhrases)} ${Pick(kKoPhrases)} ${Int(0, 999)}`;
}

const kScripts = {
  arabic: ['مرحبا', 'بالعالم', 'السلام عليكم', 'اللغة العربية', 'كتاب', 'مُحَمَّد', 'الذكاء الاصطناعي', '٠١٢٣٤٥٦٧٨٩', 'ﷺ', 'لا'],
  hindi: ['नमस्ते', 'दुनिया', 'हिन्दी भाषा', 'कृत्रिम बुद्धिमत्ता', 'क्षत्रिय', 'श्री', '०१२३४५६७८९', 'ज़िंदगी', 'प्रौद्योगिकी'],
  russian: ['Привет', 'мир', 'Токенизатор', 'ЁЛКА', 'ёжик', 'Съешь же ещё этих мягких французских булок'],
  greek: ['ΟΔΟΣ', 'Σίσυφος', 'ΣΑΣ', 'λόγος', 'ΑΥΤΟΣ ΕΙΝΑΙ', 'ὁ λόγος', 'Ἀθῆναι'],
  hebrew: ['שלום', 'עולם', 'בְּרֵאשִׁית'],
  thai: ['สวัสดีครับ', 'ภาษาไทย', 'กรุงเทพมหานคร'],
  other: ['Ա-ն', 'ქართული', 'ᚠᛇᚻ', 'ꦗꦮ', 'ཀུན་', 'ᐊᐃᓐᓇᐅ', 'Tiếng Việt', 'Türkçe İstanbul ılık', 'Ελληνικά'],
};
function Script() {
  const name = Pick(Object.keys(kScripts));
  return Repeat(Int(1, 6), () => Pick(kScripts[name])).join(Pick([' ', ' ', '، ', ', ', '. ', '\n', '']));
}

const kEmoji = ['😀', '😂', '🤖', '🚀', '❤️', '❤', '👍', '👍🏽', '👨‍👩‍👧‍👦', '👩🏽‍💻', '🏳️‍🌈', '🏴‍☠️', '🇺🇸', '🇯🇵', '🇩🇪',
  '1️⃣', '#️⃣', '©️', '™', '🧑‍🤝‍🧑', '👁️‍🗨️', '🫠', '🥲', '🦀', '🐍', '✨', '🔥', '⭐', '☃', '♥', '✓', '✔️', '🀄', '🃏',
  '🤷‍♂️', '🤦🏻‍♀️', '👶🏿', '💯', '🎉🎉🎉', '🙏', '😶‍🌫️', '❤️‍🔥', '🧔‍♂️', '🏃‍➡️'.slice(0, 2)];
function Emoji() {
  return Repeat(Int(1, 8), () => Chance(0.6) ? Pick(kEmoji) : Pick(kWords)).join(Pick(['', ' ', ' ', '  ']));
}

function Digits() {
  const d = (n) => Repeat(n, () => String(Int(0, 9))).join('');
  return Pick([
    () => d(Int(1, 40)),
    () => `${d(Int(1, 4))},${d(3)},${d(3)}.${d(Int(1, 3))}`,
    () => `-${d(Int(1, 3))}.${d(Int(1, 8))}e${Pick(['+', '-', ''])}${d(2)}`,
    () => `${Int(1900, 2099)}-${String(Int(1, 12)).padStart(2, '0')}-${String(Int(1, 28)).padStart(2, '0')}T${Int(0, 23)}:${d(2)}:${d(2)}Z`,
    () => `+1 (${d(3)}) ${d(3)}-${d(4)}`,
    () => `v${Int(0, 20)}.${Int(0, 99)}.${Int(0, 999)}-rc${Int(1, 9)}`,
    () => `0x${Repeat(Int(1, 16), () => Pick('0123456789ABCDEFabcdef'.split(''))).join('')}`,
    () => `${Pick(kWords)}${d(Int(1, 6))}${Pick(kWords)} ${d(Int(1, 12))}${Pick(['%', '$', '€', 'km', 'ms', 'x', ''])}`,
    () => `１２３４５ ½ ² ³ ⅓ Ⅻ ① ٣٤٥ ३४५ ๑๒๓ ${d(5)}`,
    () => `${d(3)} ${d(4)} ${d(5)} ${d(6)} ${d(7)} ${d(1)}${d(1)}`,
    () => `π ≈ 3.14159265358979323846264338327950288419716939937510`,
  ])();
}

const kSpaces = [' ', ' ', ' ', '\t', '\n', '\r\n', '\r', '\n\n', '\u00a0', '\u3000', '\u2003', '\u2009', '\u200b',
  '\u0085', '\ufeff', '\u180e', '\u2028', '\u000b', '\u000c', '\u202f', '\u1680'];
function Whitespace() {
  const k = Int(0, 5);
  if (k === 0) return Repeat(Int(1, 40), () => Pick(kSpaces)).join('');
  if (k === 1) return ' '.repeat(Int(1, 40)) + Pick(kWords) + ' '.repeat(Int(0, 40));
  if (k === 2) return Repeat(Int(2, 6), () => Pick(kWords)).join(Repeat(Int(1, 4), () => Pick(kSpaces)).join(''));
  if (k === 3) return Pick(['\t', '\t\t', '    ', '\n']) + Pick(kWords) + Pick(['\r\n', '\n\n\n', '\r\n\r\n', '\t\n', ' \n ']);
  if (k === 4) return '\n'.repeat(Int(1, 35)) + Pick(kWords) + '\t'.repeat(Int(1, 33));
  return Pick(kWords) + ' '.repeat(Int(2, 20)) + Pick(['!', '.', '?', 'x', '1', '']) + ' '.repeat(Int(0, 3));
}

const kSpecials = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>',
  '<|reserved_special_token_5|>', '<s>', '</s>', '<unk>', '[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]', '<pad>',
  '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>', '<tool_call>', '<bos>', '<eos>',
  '<start_of_turn>', '<end_of_turn>', '<mask>', '<h1>', '</td>', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
  '<｜User｜>', '<｜Assistant｜>', '<|EOT|>', '</s >', '<|begin_of', 'begin_of_text|>', '<<s>>', '[CLS', '<0x41>',
  '<unused42>', '<image_soft_token>', '</sep>', '<|fim_prefix|>', 'custom token', 'custom  token',
  'Custom token', ' <mask>', '  <mask> ', 'x<mask>y'];
function SpecialText() {
  const parts = Repeat(Int(1, 6), () => Chance(0.5) ? Pick(kSpecials) : Chance(0.7) ? Pick(kWords) : Sentence());
  return parts.join(Pick(['', ' ', ' ', '\n', '  ', '\t']));
}
function Chat() {
  const role = () => Pick(['system', 'user', 'assistant']);
  return Pick([
    () => `<|begin_of_text|><|start_header_id|>${role()}<|end_header_id|>\n\n${Sentence()}<|eot_id|>`,
    () => `<|im_start|>${role()}\n${Sentence()}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`,
    () => `<bos><start_of_turn>user\n${Sentence()}<end_of_turn>\n<start_of_turn>model\n`,
    () => `<s>[INST] ${Sentence()} [/INST] ${Sentence()}</s>`,
    () => `<｜begin▁of▁sentence｜><｜User｜>${Sentence()}<｜Assistant｜>`,
    () => `[CLS] ${Sentence()} [SEP] ${Sentence()} [SEP]`,
  ])();
}

// Blocks fully assigned by Unicode 14; the filter below drops their unassigned holes.
const kBlocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x250, 0x2ff], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff],
  [0x530, 0x58f], [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0x980, 0x9ff], [0xe00, 0xe7f], [0x10a0, 0x10ff],
  [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x1f00, 0x1fff], [0x2000, 0x206f], [0x2070, 0x209f], [0x20a0, 0x20bf],
  [0x2100, 0x214f], [0x2150, 0x218f], [0x2190, 0x21ff], [0x2200, 0x22ff], [0x2460, 0x24ff], [0x2500, 0x257f],
  [0x25a0, 0x25ff], [0x2600, 0x26ff], [0x2700, 0x27bf], [0x3000, 0x303f], [0x3040, 0x309f], [0x30a0, 0x30ff],
  [0x3130, 0x318f], [0x3200, 0x32ff], [0x3300, 0x33ff], [0x4e00, 0x9fa5], [0xac00, 0xd7a3], [0xe000, 0xe0ff],
  [0xf900, 0xfa2d], [0xfb00, 0xfb4f], [0xfe30, 0xfe4f], [0xff00, 0xffef], [0x1d400, 0x1d6a3], [0x1f300, 0x1f5ff],
  [0x1f600, 0x1f64f], [0x1f680, 0x1f6d2], [0x1f900, 0x1f9ff], [0x20000, 0x2a6dd], [0x1, 0x1f]];
const kAssigned = /^\p{Assigned}$/u;
function RandomChar() {
  for (;;) {
    const [lo, hi] = Pick(kBlocks);
    const cp = Int(lo, hi);
    const c = String.fromCodePoint(cp);
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (cp !== 0x1 && !kAssigned.test(c) && !(cp >= 0xe000 && cp <= 0xf8ff)) continue;
    if (cp === 0x1f979 || cp === 0x1f9cc || cp === 0x1fa7b) continue;  // assigned after 14.0
    return c;
  }
}
function RandomUnicode() {
  let s = '';
  const n = Int(1, 30);
  for (let i = 0; i < n; ++i) {
    s += RandomChar();
    while (Chance(0.2)) s += String.fromCodePoint(Int(0x300, 0x36f));  // stacked combining marks
    if (Chance(0.1)) s += ' ';
  }
  return s;
}

const kMixed = [
  'https://huggingface.co/meta-llama/Meta-Llama-3-8B/resolve/main/tokenizer.json?download=true#L10',
  'mailto:first.last+tag@example.co.uk', '@user_name #hashtag $TSLA 100% &amp; 50/50',
  'caf\u00e9 vs cafe\u0301 vs CAF\u00c9 vs CAFE\u0301', 'n\u0303o\u0308 a\u030a\u0301 \u1e9b\u0323', '\uff21\uff22\uff23 \uff41\uff42\uff43 \uff01\uff1f',
  '\ufb01nance \ufb02ow \ufb00 \u0133 \u2460\u2461 \u00bd \u00b2 \u2167 \u212b \u212a \u017f \u0130stanbul \u1e9e \u00df \u03a3\u0391\u03a3',
  'ΟΔΥΣΣΕΥΣ ΣΑΣ. ΣΟΦΟΣ, Σ', 'İIıi ǅ ǈ ǋ ǲ ﬃ ẞß', 'Ｈｅｌｌｏ　Ｗｏｒｌｄ', '\u2581leading metaspace\u2581 and\u2581\u2581double',
  '<0x41><0xE2><0x96><0x81> text that looks like byte tokens', 'Ġhello Ċ ĉ byte-level lookalikes',
  'a'.repeat(120), 'ab'.repeat(75), 'x'.repeat(101) + ' ' + 'y'.repeat(99), 'supercalifragilisticexpialidocious'.repeat(4),
  '!!!!!!!!!!!!!!!!', '............', '----------------------------------------', '=====', '????', '~~~~', '***bold***',
  '"quoted" \'single\' «guillemets» „German“ “smart” ‘quotes’', 'C:\\Users\\name\\file.txt', '~/path/to/file_name-v2.tar.gz',
  'tab\tseparated\tvalues\t1\t2\t3', '\u0000null\u0000byte', '\u001b[31mred\u001b[0m', 'del\u007fete', 'soft\u00adhyphen',
  'zero\u200bwidth\u200cnon\u200djoiner', 'bidi \u202eesrever\u202c ok', 'Ω ≠ Ω', 'Å ≠ Å', '\u1100\u1161\u11a8 jamo',
  'e\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308', '\u0915\u094d\u0937', '\ud835\udc00\ud835\udc01 math bold',
  "I'm here, aren't I? Yes , you are . Isn ' t it ? He 's gone ; they 've left !", ' . , ! ? ', "do n't ca n't 'm 's 've 're",
  'Hello world! I\'M here… 你好世界 🤖🚀   Привет,мир\n\n  tabs\tand\r\nCRLF   \r\nend',
];

function Main() {
  const texts = ['', ' ', '  ', '\n', '\t', '\r\n', 'a', 'A', '0', '.', "'s", 'Hello', ' Hello', 'Hello world', '<s>', '[CLS]'];
  const gens = [[Prose, 450], [Code, 200], [Cjk, 160], [Script, 200], [Emoji, 150], [Digits, 160], [Whitespace, 200],
    [SpecialText, 170], [Chat, 50], [RandomUnicode, 300]];
  for (const [gen, count] of gens) for (let i = 0; i < count; ++i) texts.push(gen());
  texts.push(...kMixed);
  // Mixtures across categories.
  const all = [Prose, Code, Cjk, Script, Emoji, Digits, Whitespace, SpecialText, RandomUnicode];
  for (let i = 0; i < 120; ++i) texts.push(Repeat(Int(2, 4), () => Pick(all)()).join(Pick(['', ' ', '\n', '\t'])));

  const pairs = [];
  for (let i = 0; i < 320; ++i) {
    const a = Pick([Sentence, Sentence, Prose, Cjk, Script, Digits, SpecialText, Emoji, RandomUnicode])();
    const b = Pick([Prose, Prose, Sentence, Code, Cjk, Script, Whitespace, RandomUnicode])();
    pairs.push([a, b || 'x']);  // the JS reference treats an empty pair string as "no pair"
  }
  const out = path.join(__dirname, '../../../tests/data/tokenizers/corpus.json');
  fs.writeFileSync(out, JSON.stringify({texts, pairs}) + '\n');
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
  console.log(`corpus: ${texts.length} texts (${bytes} bytes), ${pairs.length} pairs -> ${out}`);
}
Main();
