#!/usr/bin/env node
// Regenerates tests/data/tokenizers/goldens/<name>.json from an independent reference implementation,
// @huggingface/tokenizers (tokenizers.js) 0.2.0, run over tests/data/tokenizers/corpus.json.
//   npm ci --prefix tools/testdata --no-audit --no-fund   (scripts/deps.sh does this)
//   node tools/goldens/tokenizers/make_goldens.mjs
//
// The reference is called the way transformers' PreTrainedTokenizerFast would behave for each tokenizer:
//  * Llama/Gemma tokenizer classes: transformers' LlamaTokenizerFast.update_post_processor() replaces the
//    tokenizer.json post-processor with a TemplateProcessing built from add_bos_token/add_eos_token
//    (defaults true/false) and bos/eos_token. tokenizers.js does not do this, so the same template is
//    built here before the reference tokenizer is constructed (it only changes which ids are added).
//  * decode() gets clean_up_tokenization_spaces = tokenizer_config's value, or false when absent (the
//    transformers default since v4.45); tokenizers.js would otherwise default to true.
//  * Pairs are recorded only when the effective post-processor is TemplateProcessing: tokenizers.js's
//    ByteLevel post-processor drops the second sequence and its RobertaProcessing type ids differ from
//    the Rust crate (see src/tokenizer/post_processors.cc and README.md).
//
// Format of each golden (compact JSON, small enough to commit):
//   texts[i] = [ids, ids_sp, dec, dec_sp, dec_sp_skip] where
//     ids         = encode(text, add_special_tokens=false)
//     ids_sp      = encode(text, add_special_tokens=true): null if == ids, {"p": P, "s": S} if == P + ids + S
//     dec         = decode(ids, skip_special_tokens=false): null if == text
//     dec_sp      = decode(ids_sp, skip_special_tokens=false): null if == dec, {"p": P, "s": S} if == P + dec + S
//     dec_sp_skip = decode(ids_sp, skip_special_tokens=true): null if == dec
//   pairs[i] = [ids, type_ids, ids_nosp, type_ids_nosp] where ids/type_ids come from encode(a, b,
//     add_special_tokens=true), ids_nosp is {"drop": [positions]} when it equals ids without those positions,
//     and type ids are run-length encoded as [[value, count], ...].
import fs from 'fs';
import path from 'path';
import {fileURLToPath} from 'url';
import {Tokenizer} from '../../testdata/node_modules/@huggingface/tokenizers/dist/tokenizers.mjs';

const kRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const kNpm = path.join(kRoot, 'tools/testdata/node_modules/@lenml');
const kData = path.join(kRoot, 'tests/data/tokenizers');
export const kTokenizers = [
  ['llama3', path.join(kNpm, 'tokenizer-llama3/models')],
  ['llama2', path.join(kNpm, 'tokenizer-llama2/models')],
  ['qwen3', path.join(kNpm, 'tokenizer-qwen3/models')],
  ['gemma3', path.join(kNpm, 'tokenizer-gemma3/models')],
  ['deepseek_v3', path.join(kNpm, 'tokenizer-deepseek_v3/models')],
  ['bert_wordpiece', path.join(kData, 'bert_wordpiece')],
  ['unigram', path.join(kData, 'unigram')],
];
const kLlamaStyleClasses = new Set(['LlamaTokenizer', 'LlamaTokenizerFast', 'CodeLlamaTokenizer',
  'CodeLlamaTokenizerFast', 'GemmaTokenizer', 'GemmaTokenizerFast']);

const Content = (t) => (t && typeof t === 'object') ? t.content : t;

function ApplyTransformersOverrides(tj, config) {
  if (!kLlamaStyleClasses.has(config.tokenizer_class)) return 'tokenizer.json';
  const add_bos = config.add_bos_token ?? true, add_eos = config.add_eos_token ?? false;
  const bos = Content(config.bos_token), eos = Content(config.eos_token);
  const id_of = (c) => tj.added_tokens.find((t) => t.content === c)?.id ?? tj.model.vocab[c];
  const sp = (id, type_id) => ({SpecialToken: {id, type_id}});
  const seq = (id, type_id) => ({Sequence: {id, type_id}});
  const single = [...(add_bos ? [sp(bos, 0)] : []), seq('A', 0), ...(add_eos ? [sp(eos, 0)] : [])];
  const pair = [...single, ...(add_bos ? [sp(bos, 1)] : []), seq('B', 1), ...(add_eos ? [sp(eos, 1)] : [])];
  const special_tokens = {};
  if (add_bos) special_tokens[bos] = {id: bos, ids: [id_of(bos)], tokens: [bos]};
  if (add_eos) special_tokens[eos] = {id: eos, ids: [id_of(eos)], tokens: [eos]};
  tj.post_processor = {type: 'TemplateProcessing', single, pair, special_tokens};
  return `${config.tokenizer_class}.update_post_processor(add_bos_token=${add_bos}, add_eos_token=${add_eos})`;
}

function Same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

function Main() {
  const corpus = JSON.parse(fs.readFileSync(path.join(kData, 'corpus.json'), 'utf8'));
  fs.mkdirSync(path.join(kData, 'goldens'), {recursive: true});
  for (const [name, dir] of kTokenizers) {
    const tj = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    const post_processor = ApplyTransformersOverrides(tj, config);
    const cleanup = config.clean_up_tokenization_spaces ?? false;
    const tok = new Tokenizer(tj, config);
    const Decode = (ids, skip) => ids.length === 0 ? '' :
        tok.decode(ids, {skip_special_tokens: skip, clean_up_tokenization_spaces: cleanup});
    const Rel = (ids, sp) => {
      if (Same(ids, sp)) return null;
      for (let p = 0; p + ids.length <= sp.length; ++p) {
        if (Same(sp.slice(p, p + ids.length), ids)) return {p: sp.slice(0, p), s: sp.slice(p + ids.length)};
      }
      return sp;
    };
    const Rle = (types) => {
      const out = [];
      for (const t of types ?? []) {
        if (out.length && out.at(-1)[0] === t) ++out.at(-1)[1]; else out.push([t, 1]);
      }
      return out;
    };
    const Drop = (full, sub) => {  // positions of `full` to drop so that it equals `sub`, or null
      const drop = [];
      let j = 0;
      for (let i = 0; i < full.length; ++i) {
        if (j < sub.length && full[i] === sub[j] && full.length - i - 1 >= sub.length - j - 1 &&
            full.length - drop.length - (full.length - i) < sub.length) { ++j; } else drop.push(i);
      }
      const kept = full.filter((_, i) => !drop.includes(i));
      return Same(kept, sub) ? {drop} : null;
    };
    const texts = corpus.texts.map((text) => {
      const ids = tok.encode(text, {add_special_tokens: false}).ids;
      const ids_sp = tok.encode(text, {add_special_tokens: true}).ids;
      const dec = Decode(ids, false), dec_sp = Decode(ids_sp, false), dec_sp_skip = Decode(ids_sp, true);
      let dec_sp_rel = dec_sp;
      if (dec_sp === dec) {
        dec_sp_rel = null;
      } else {
        const p = dec_sp.indexOf(dec);
        if (dec.length > 0 && p >= 0) dec_sp_rel = {p: dec_sp.slice(0, p), s: dec_sp.slice(p + dec.length)};
      }
      return [ids, Rel(ids, ids_sp), dec === text ? null : dec, dec_sp_rel, dec_sp_skip === dec ? null : dec_sp_skip];
    });
    const pairs = tj.post_processor?.type !== 'TemplateProcessing' ? [] : corpus.pairs.map(([a, b]) => {
      const e = tok.encode(a, {text_pair: b, add_special_tokens: true, return_token_type_ids: true});
      const f = tok.encode(a, {text_pair: b, add_special_tokens: false, return_token_type_ids: true});
      return [e.ids, Rle(e.token_type_ids), Drop(e.ids, f.ids) ?? f.ids, Rle(f.token_type_ids)];
    });
    const golden = {
      name, reference: '@huggingface/tokenizers@0.2.0', post_processor, clean_up_tokenization_spaces: cleanup,
      format: 'see tools/goldens/tokenizers/make_goldens.mjs', texts, pairs,
    };
    const out = path.join(kData, 'goldens', `${name}.json`);
    fs.writeFileSync(out, JSON.stringify(golden) + '\n');
    console.log(`${name}: ${texts.length} texts, ${pairs.length} pairs, ${fs.statSync(out).size} bytes (${post_processor})`);
  }
}
Main();
