#!/usr/bin/python3
"""Train Loom's built-in demo model: a tiny LlamaForCausalLM on the KJV Bible.

Needs Debian packages `bible-kjv-text bible-kjv` (for the text) and
`/usr/bin/python3` with torch (>= 1.13) and numpy. No transformers/tokenizers/
safetensors packages are used: the byte-level BPE tokenizer, the HF Llama model
and the safetensors writer are implemented here.

    /usr/bin/python3 tools/train_demo/train.py --out models/builtin --time-budget 1080
"""
import argparse
import json
import math
import os
import re
import struct
import subprocess
import time
from collections import Counter, defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# GPT-2 pre-tokenizer regex; \p{L}/\p{N} approximated with ASCII classes (the KJV text is pure ASCII).
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


# ----------------------------------------------------------------------------- text
def load_text(path):
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read()
    raw = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True, text=True).stdout
    # Lines look like "Ge1:1 In the beginning ..." -> drop the verse reference.
    lines = [re.sub(r"^\S+ ", "", l) for l in raw.splitlines() if l.strip()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- tokenizer
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def train_bpe(text, num_merges):
    """Returns merges as list of (id_a, id_b); token ids 0..255 are the bytes."""
    wc = Counter(PAT.findall(text))
    words = [list(w.encode("utf-8")) for w in wc]
    counts = [wc[w] for w in wc]
    pairs = Counter()
    where = defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pairs[p] += counts[i]
            where[p].add(i)
    merges = []
    for m in range(num_merges):
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))[0]
        new_id = 256 + m
        merges.append(best)
        for i in list(where[best]):
            w = words[i]
            c = counts[i]
            for p in zip(w, w[1:]):
                pairs[p] -= c
                if pairs[p] <= 0:
                    del pairs[p]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(new_id)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pairs[p] += c
                where[p].add(i)
        del where[best]
        pairs.pop(best, None)
    return merges


class BPE:
    def __init__(self, merges):
        self.ranks = {p: r for r, p in enumerate(merges)}
        self.merged = {p: 256 + r for r, p in enumerate(merges)}
        self.token_bytes = [bytes([b]) for b in range(256)]
        for a, b in merges:
            self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        self.cache = {}

    def encode_word(self, w):
        ids = self.cache.get(w)
        if ids is not None:
            return ids
        ids = list(w.encode("utf-8"))
        while len(ids) > 1:
            best, br = None, None
            for p in zip(ids, ids[1:]):
                r = self.ranks.get(p)
                if r is not None and (br is None or r < br):
                    best, br = p, r
            if best is None:
                break
            out, j = [], 0
            while j < len(ids):
                if j + 1 < len(ids) and (ids[j], ids[j + 1]) == best:
                    out.append(self.merged[best])
                    j += 2
                else:
                    out.append(ids[j])
                    j += 1
            ids = out
        self.cache[w] = ids
        return ids

    def encode(self, text):
        out = []
        for w in PAT.findall(text):
            out.extend(self.encode_word(w))
        return out

    def decode(self, ids):
        return b"".join(self.token_bytes[i] for i in ids if i < len(self.token_bytes)).decode("utf-8", "replace")

    def tok_str(self, i):
        return "".join(B2U[b] for b in self.token_bytes[i])


def write_tokenizer(bpe, merges, out, max_len):
    n = len(bpe.token_bytes)
    vocab = {bpe.tok_str(i): i for i in range(n)}
    added = []
    for k, s in enumerate(SPECIALS):
        vocab[s] = n + k
        added.append({"id": n + k, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [bpe.tok_str(a) + " " + bpe.tok_str(b) for a, b in merges]},
    }
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": max_len,
        "chat_template": CHAT_TEMPLATE,
        "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)
    return {s: n + k for k, s in enumerate(SPECIALS)}


# ----------------------------------------------------------------------------- model (HF Llama semantics)
class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = c["hidden_size"] // self.nh
        h = c["hidden_size"]
        self.q_proj = nn.Linear(h, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, h, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=1)  # == HF repeat_kv
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = torch.softmax(att.float(), dim=-1).to(q.dtype) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        hd = c["hidden_size"] // c["num_attention_heads"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer("inv_freq", inv, persistent=False)
        for n, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids):
        B, T = ids.shape
        pos = torch.arange(T, dtype=torch.float32)
        fr = torch.outer(pos, self.inv_freq)
        emb = torch.cat((fr, fr), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.model.embed_tokens(ids)
        for l in self.model.layers:
            x = l(x, cos, sin, mask)
        return self.model.norm(x) @ self.model.embed_tokens.weight.t()  # tied lm_head


# ----------------------------------------------------------------------------- safetensors (by hand)
def f32_to_bf16_bits(a):
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_bits_to_f32(u):
    return (u.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, dtype):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().float().cpu().numpy()
        data = f32_to_bf16_bits(a).astype("<u2").tobytes() if dtype == "BF16" else a.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        if v["dtype"] == "BF16":
            a = bf16_bits_to_f32(np.frombuffer(data[s:e], dtype="<u2"))
        else:
            a = np.frombuffer(data[s:e], dtype="<f4").astype(np.float32)
        out[k] = torch.from_numpy(a.reshape(v["shape"]).copy())
    return out


# ----------------------------------------------------------------------------- main
@torch.no_grad()
def evaluate(model, ids, bpe, T):
    model.eval()
    nll, ntok, nbytes = 0.0, 0, 0
    n = (len(ids) - 1) // T
    for s in range(0, n, 16):
        xs = [ids[(i * T):(i * T) + T + 1] for i in range(s, min(n, s + 16))]
        x = torch.tensor(xs, dtype=torch.long)
        logits = model(x[:, :-1])
        nll += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum").item()
        ntok += x[:, 1:].numel()
        nbytes += sum(len(bpe.token_bytes[t]) for t in x[:, 1:].reshape(-1).tolist())
    model.train()
    return nll / ntok, nll / nbytes, ntok, nbytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", default="", help="plain text file (default: dump KJV with `bible`)")
    ap.add_argument("--out", default="models/builtin")
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--time-budget", type=float, default=1200, help="training wall-time seconds")
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--checkpoint", default="/tmp/builtin_ckpt.pt", help="full-precision torch checkpoint path")
    ap.add_argument("--dtype", default="BF16", choices=["BF16", "F32"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    text = load_text(args.text)
    cut = text.rfind("\n", 0, int(len(text) * 0.95)) + 1
    train_text, val_text = text[:cut], text[cut:]
    print(f"text {len(text)} chars; train {len(train_text)} val {len(val_text)}", flush=True)

    merges = train_bpe(train_text, args.vocab - 256 - len(SPECIALS))
    bpe = BPE(merges)
    specials = write_tokenizer(bpe, merges, args.out, 512)
    vocab_size = len(bpe.token_bytes) + len(SPECIALS)
    train_ids = np.array(bpe.encode(train_text), dtype=np.int64)
    val_ids = bpe.encode(val_text)
    assert bpe.decode(val_ids) == val_text
    print(f"BPE: {len(merges)} merges, vocab {vocab_size}; train {len(train_ids)} tok, val {len(val_ids)} tok "
          f"({len(train_text) / len(train_ids):.2f} bytes/tok) [{time.time() - t0:.0f}s]", flush=True)

    c = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 256, "intermediate_size": 704, "num_hidden_layers": 4,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
        "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None,
        "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0,
        "tie_word_embeddings": True, "vocab_size": vocab_size, "hidden_act": "silu", "initializer_range": 0.02,
        "bos_token_id": None, "eos_token_id": specials["<|endoftext|>"], "pad_token_id": None,
        "torch_dtype": "bfloat16" if args.dtype == "BF16" else "float32", "use_cache": True,
        "transformers_version": "4.44.0",
    }
    model = Llama(c)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"model params {nparams}", flush=True)
    decay = [p for p in model.parameters() if p.dim() == 2]
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    rng = np.random.default_rng(args.seed)
    T, B = args.seq, args.batch
    ts = time.time()
    step, ema = 0, None
    while step < args.max_steps:
        el = time.time() - ts
        prog = max(step / args.max_steps, el / args.time_budget)
        if prog >= 1.0:
            break
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))
        for g in opt.param_groups:
            g["lr"] = lr
        offs = rng.integers(0, len(train_ids) - T - 1, size=B)
        x = torch.from_numpy(np.stack([train_ids[o:o + T + 1] for o in offs]))
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0:
            print(f"step {step} loss {ema:.3f} lr {lr:.2e} [{time.time() - ts:.0f}s]", flush=True)
    train_secs = time.time() - ts
    torch.save({"config": c, "state_dict": model.state_dict(), "optimizer": opt.state_dict(), "step": step},
               args.checkpoint)

    # Export.
    sd = {k: v for k, v in model.state_dict().items() if k.startswith("model.")}
    write_safetensors(os.path.join(args.out, "model.safetensors"), sd, args.dtype)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": None, "eos_token_id": [specials["<|endoftext|>"], specials["<|im_end|>"]],
                   "do_sample": True, "temperature": 0.8, "top_p": 0.95, "transformers_version": "4.44.0"}, f, indent=2)

    # Reload the exported (rounded) weights and evaluate on the held-out 5%.
    m2 = Llama(c)
    m2.load_state_dict(read_safetensors(os.path.join(args.out, "model.safetensors")), strict=True)
    nll_tok, nll_byte, ntok, nbytes = evaluate(m2, val_ids, bpe, T)
    res = {"steps": step, "train_seconds": round(train_secs, 1), "params": nparams, "vocab_size": vocab_size,
           "val_tokens": ntok, "val_bytes": nbytes, "val_nll_per_token": nll_tok, "val_ppl_per_token": math.exp(nll_tok),
           "val_ppl_per_byte": math.exp(nll_byte), "val_bits_per_byte": nll_byte / math.log(2), "final_train_loss_ema": ema}
    print(json.dumps(res, indent=1), flush=True)

    # Reference prompt logprobs for a held-out verse (compare against `loom generate --prompt-logprobs`).
    verse = val_text.splitlines()[3]
    ids = bpe.encode(verse)
    with torch.no_grad():
        lp = torch.log_softmax(m2(torch.tensor([ids]))[0].float(), -1)
    ref = {"text": verse, "ids": ids, "logprobs": [None] + [lp[i, ids[i + 1]].item() for i in range(len(ids) - 1)]}
    with torch.no_grad():  # greedy sample from torch for comparison
        g = bpe.encode("And God said")
        for _ in range(40):
            g.append(int(m2(torch.tensor([g[-512:]]))[0, -1].argmax()))
    ref["greedy_and_god_said"] = bpe.decode(g)
    print("torch greedy:", repr(ref["greedy_and_god_said"]), flush=True)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "heldout_reference.json"), "w") as f:
        json.dump({"results": res, "reference": ref}, f, indent=1)
    print(f"total {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
