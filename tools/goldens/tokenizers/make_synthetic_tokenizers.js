#!/usr/bin/env node
// Builds two small but realistic tokenizers that the npm packages do not cover, from the committed corpus:
//   tests/data/tokenizers/bert_wordpiece/  BERT-uncased style: BertNormalizer, BertPreTokenizer, WordPiece,
//                                          TemplateProcessing with pairs, WordPiece decoder.
//   tests/data/tokenizers/unigram/         XLM-R/T5 style: NFKC + Replace(" {2,}"), WhitespaceSplit + Metaspace,
//                                          Unigram (Viterbi, unk), TemplateProcessing with pairs, Metaspace decoder,
//                                          an lstrip <mask> and a normalized non-special added token.
// The vocabularies come from frequency counts over the corpus ("training" is deliberately simple; only the
// file format and the algorithms that read it matter). Deterministic: no clock, no randomness.
//   node tools/goldens/tokenizers/make_synthetic_tokenizers.js
'use strict';
const fs = require('fs');
const path = require('path');

const kRoot = path.join(__dirname, '../../..');
const corpus = JSON.parse(fs.readFileSync(path.join(kRoot, 'tests/data/tokenizers/corpus.json'), 'utf8'));
const training = [...corpus.texts, ...corpus.pairs.flat()];

function Count(map, key, n = 1) { map.set(key, (map.get(key) || 0) + n); }
// Highest count first; ties by code-unit order so the output never depends on Map insertion order.
function Top(map, n, min_count = 1) {
  return [...map].filter(([, c]) => c >= min_count)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, n);
}
function Write(dir, name, obj) {
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, name), JSON.stringify(obj, null, 1) + '\n');
}
function AddedToken(id, content, extra = {}) {
  return {id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...extra};
}

function BuildBert() {
  const kPunct = /[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]/u;
  const word_counts = new Map(), char_counts = new Map();
  for (const t of training) {
    const norm = t.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    for (const w of norm.split(/\s+/)) {
      let cur = '';
      for (const c of w) {
        Count(char_counts, c);
        if (kPunct.test(c)) { if (cur) Count(word_counts, cur); cur = ''; Count(word_counts, c); } else cur += c;
      }
      if (cur) Count(word_counts, cur);
    }
  }
  const vocab = ['[PAD]', ...Array.from({length: 99}, (_, i) => `[unused${i}]`), '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const seen = new Set(vocab);
  const Add = (t) => { if (!seen.has(t)) { seen.add(t); vocab.push(t); } };
  const chars = Top(char_counts, 1400, 2).map(([c]) => c);  // rarer characters become [UNK]
  chars.forEach(Add);
  chars.slice(0, 700).forEach((c) => Add('##' + c));
  const words = Top(word_counts, 2500, 2).map(([w]) => w).filter((w) => [...w].length <= 20);
  words.forEach(Add);
  const pre = new Map(), suf = new Map();
  for (const [w, c] of word_counts) {
    const cs = [...w];
    for (let n = 2; n <= Math.min(6, cs.length - 1); ++n) {
      Count(pre, cs.slice(0, n).join(''), c);
      Count(suf, '##' + cs.slice(cs.length - n).join(''), c);
      Count(suf, '##' + cs.slice(1, 1 + n).join(''), c);
    }
  }
  Top(pre, 1500, 3).forEach(([p]) => Add(p));
  Top(suf, 1500, 3).forEach(([s]) => Add(s));
  const vocab_obj = Object.fromEntries(vocab.map((t, i) => [t, i]));
  const id = (t) => vocab_obj[t];
  const tokenizer = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => AddedToken(id(t), t)),
    normalizer: {type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true},
    pre_tokenizer: {type: 'BertPreTokenizer'},
    post_processor: {
      type: 'TemplateProcessing',
      single: [{SpecialToken: {id: '[CLS]', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}}, {SpecialToken: {id: '[SEP]', type_id: 0}}],
      pair: [{SpecialToken: {id: '[CLS]', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}}, {SpecialToken: {id: '[SEP]', type_id: 0}},
        {Sequence: {id: 'B', type_id: 1}}, {SpecialToken: {id: '[SEP]', type_id: 1}}],
      special_tokens: {
        '[CLS]': {id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]']},
        '[SEP]': {id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]']},
      },
    },
    decoder: {type: 'WordPiece', prefix: '##', cleanup: true},
    model: {type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: vocab_obj},
  };
  const config = {
    clean_up_tokenization_spaces: true, cls_token: '[CLS]', do_lower_case: true, mask_token: '[MASK]',
    model_max_length: 512, pad_token: '[PAD]', sep_token: '[SEP]', strip_accents: null, tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer', unk_token: '[UNK]',
  };
  const dir = path.join(kRoot, 'tests/data/tokenizers/bert_wordpiece');
  Write(dir, 'tokenizer.json', tokenizer);
  Write(dir, 'tokenizer_config.json', config);
  console.log(`bert_wordpiece: ${vocab.length} tokens`);
}

function BuildUnigram() {
  const piece_counts = new Map(), char_counts = new Map();
  let total = 0;
  for (const t of training) {
    const norm = t.normalize('NFKC').replace(/ {2,}/g, ' ');
    for (const w of norm.split(/\s+/)) {
      if (!w) continue;
      const cs = [...('\u2581' + w)];
      for (const c of cs) Count(char_counts, c);
      for (let i = 0; i < cs.length; ++i) {
        for (let n = 2; n <= 8 && i + n <= cs.length; ++n) { Count(piece_counts, cs.slice(i, i + n).join('')); ++total; }
      }
    }
  }
  const specials = ['<pad>', '</s>', '<unk>', '<s>'];
  const reserved = new Set([...specials, '<mask>', 'custom token']);
  const pieces = new Map();
  for (const [c, n] of Top(char_counts, 1200, 2)) pieces.set(c, n);
  // Like SentencePiece's split_by_whitespace, no piece has a U+2581 after its first character (text that
  // itself contains U+2581 is split there by the Metaspace pre-tokenizer).
  for (const [p, n] of Top(piece_counts, 7000, 3)) if (!pieces.has(p) && p.indexOf('\u2581', 1) < 0) pieces.set(p, n);
  for (const r of reserved) pieces.delete(r);  // each piece appears once; these get fixed ids below
  if (!pieces.has('\u2581')) pieces.set('\u2581', 1);
  const sum = [...pieces.values()].reduce((a, b) => a + b, 0);
  const scored = Top(pieces, pieces.size).map(([p, n]) => [p, Math.round(Math.log(n / sum) * 1e4) / 1e4]);
  const vocab = [...specials.map((s) => [s, 0.0]), ...scored, ['<mask>', 0.0], ['custom token', 0.0]];
  const id = (t) => vocab.findIndex(([p]) => p === t);
  const tokenizer = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [...specials.map((s) => AddedToken(id(s), s)),
      AddedToken(id('<mask>'), '<mask>', {lstrip: true}),
      AddedToken(id('custom token'), 'custom token', {special: false, normalized: true})],
    normalizer: {type: 'Sequence', normalizers: [{type: 'NFKC'}, {type: 'Replace', pattern: {Regex: ' {2,}'}, content: ' '}]},
    pre_tokenizer: {type: 'Sequence', pretokenizers: [{type: 'WhitespaceSplit'},
      {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true}]},
    post_processor: {
      type: 'TemplateProcessing',
      single: [{SpecialToken: {id: '<s>', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}}, {SpecialToken: {id: '</s>', type_id: 0}}],
      pair: [{SpecialToken: {id: '<s>', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}}, {SpecialToken: {id: '</s>', type_id: 0}},
        {SpecialToken: {id: '</s>', type_id: 1}}, {Sequence: {id: 'B', type_id: 1}}, {SpecialToken: {id: '</s>', type_id: 1}}],
      special_tokens: {
        '<s>': {id: '<s>', ids: [id('<s>')], tokens: ['<s>']},
        '</s>': {id: '</s>', ids: [id('</s>')], tokens: ['</s>']},
      },
    },
    decoder: {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true},
    model: {type: 'Unigram', unk_id: id('<unk>'), vocab, byte_fallback: false},
  };
  const config = {
    bos_token: '<s>', clean_up_tokenization_spaces: true, cls_token: '<s>', eos_token: '</s>',
    mask_token: {__type: 'AddedToken', content: '<mask>', lstrip: true, normalized: true, rstrip: false, single_word: false},
    model_max_length: 512, pad_token: '<pad>', sep_token: '</s>', tokenizer_class: 'XLMRobertaTokenizer', unk_token: '<unk>',
  };
  const dir = path.join(kRoot, 'tests/data/tokenizers/unigram');
  Write(dir, 'tokenizer.json', tokenizer);
  Write(dir, 'tokenizer_config.json', config);
  console.log(`unigram: ${vocab.length} pieces`);
}

BuildBert();
BuildUnigram();
