#!/usr/bin/python3
"""Renders every chat template on every test conversation with Python jinja2 and writes goldens.

The environment replicates transformers' apply_chat_template exactly
(src/transformers/utils/chat_template_utils.py, _compile_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[AssistantTracker, jinja2.ext.loopcontrols]), its tojson override, and the
raise_exception / strftime_now globals. strftime_now reads a fixed clock so goldens are stable.
The render call mirrors apply_chat_template: messages, tools (None when absent), documents,
add_generation_prompt, the tokenizer's special tokens, then any extra template kwargs.

Run from anywhere with Debian's python3-jinja2:
    /usr/bin/python3 tools/goldens/chat_templates/make_goldens.py
Writes tests/data/chat_templates/goldens/<template>.json (one file per template). Each case has
"expected" (the exact output), or "expected_suffix" (the add_generation_prompt=True output is the
same conversation's add_generation_prompt=False output plus this suffix), or "error_type" and
"error" (str() of the exception jinja2 raised).
"""
import datetime
import glob
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SHARED_DIR = os.path.join(REPO, "..", "shared", "testdata", "chat_templates")
LOCAL_DIR = os.path.join(REPO, "tests", "data", "chat_templates", "templates")
CONVERSATIONS = os.path.join(REPO, "tests", "data", "chat_templates", "conversations.json")
OUT_DIR = os.path.join(REPO, "tests", "data", "chat_templates", "goldens")

# The clock strftime_now sees; the C++ test injects the same instant (UTC) via SetNowForTesting.
FIXED_NOW = datetime.datetime(2024, 7, 26, 13, 5, 9)

# Special tokens passed the way apply_chat_template passes tokenizer.special_tokens_map.
# Keyed by template-file prefix; the first match wins.
SPECIAL_TOKENS = [
    ("meta-llama-Llama-3", {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}),
    ("llama-3-instruct", {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}),
    ("llama-2-chat", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}),
    ("google-gemma", {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"}),
    ("gemma-3-it", {"bos_token": "<bos>", "eos_token": "<end_of_turn>", "pad_token": "<pad>"}),
    ("deepseek", {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}),
    ("Qwen", {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}),
    ("chatml", {"eos_token": "<|im_end|>"}),
    ("mistralai", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}),
    ("unsloth-mistral", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}),
    ("Mistral", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}),
    ("microsoft-Phi-3", {"bos_token": "<s>", "eos_token": "<|endoftext|>", "unk_token": "<unk>"}),
    ("", {"bos_token": "<|bos|>", "eos_token": "<|eos|>"}),
]


class AssistantTracker(Extension):
    """The {% generation %} tag as transformers defines it; rendering only needs its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(
            self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def strftime_now(format):
    return FIXED_NOW.strftime(format)


def make_env():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True,
        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def special_tokens_for(stem):
    for prefix, tokens in SPECIAL_TOKENS:
        if stem.startswith(prefix):
            return tokens
    raise AssertionError(stem)


def template_files():
    files = []
    for path in sorted(glob.glob(os.path.join(SHARED_DIR, "*.jinja"))):
        files.append(("../shared/testdata/chat_templates/" + os.path.basename(path), path))
    for path in sorted(glob.glob(os.path.join(LOCAL_DIR, "*.jinja"))):
        files.append(("tests/data/chat_templates/templates/" + os.path.basename(path), path))
    return files


def render_case(compiled, conv, add_generation_prompt, tokens):
    # A fresh copy per render: templates may mutate lists (list.pop is allowed by the sandbox).
    conv = json.loads(json.dumps(conv))
    kwargs = dict(tokens)
    kwargs.update(conv.get("kwargs", {}))
    documents = kwargs.pop("documents", None)
    return compiled.render(messages=conv["messages"], tools=conv.get("tools"), documents=documents,
                           add_generation_prompt=add_generation_prompt, **kwargs)


def main():
    env = make_env()
    with open(CONVERSATIONS, encoding="utf-8") as f:
        conversations = json.load(f)["conversations"]
    os.makedirs(OUT_DIR, exist_ok=True)
    summary = []
    for rel, path in template_files():
        stem = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8", newline="") as f:
            source = f.read()
        tokens = special_tokens_for(stem)
        record = {"template": rel, "jinja2_version": jinja2.__version__,
                  "special_tokens": tokens, "cases": []}
        try:
            compiled = env.from_string(source)
        except jinja2.TemplateSyntaxError as e:
            record["parse_error"] = str(e)
            compiled = None
        errors = 0
        for conv in conversations if compiled else []:
            without_prompt = None
            for agp in (False, True):
                case = {"conversation": conv["id"], "add_generation_prompt": agp}
                try:
                    out = render_case(compiled, conv, agp, tokens)
                    # The generation prompt usually only appends text; store just that suffix
                    # to keep the goldens small. expected = (render without prompt) + suffix.
                    if agp and without_prompt is not None and out.startswith(without_prompt):
                        case["expected_suffix"] = out[len(without_prompt):]
                    else:
                        case["expected"] = out
                    if not agp:
                        without_prompt = out
                except Exception as e:  # every jinja2 failure is a golden error
                    case["error_type"] = type(e).__name__
                    case["error"] = str(e)
                    errors += 1
                record["cases"].append(case)
        with open(os.path.join(OUT_DIR, stem + ".json"), "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
            f.write("\n")
        summary.append(f"{stem}: {len(record['cases'])} cases, {errors} errors")
    print("\n".join(summary))


if __name__ == "__main__":
    sys.exit(main())
