#!/usr/bin/python3
"""Fills in a fixture of tests/text/test_hf_tokenizer.cc (tests/data/hf_tokenizer_ids.json,
tests/data/hf_unigram_ids.json): the ids Hugging Face's tokenizers library gives each prompt
there under each variant of the fixture's tokenizer (its tokenizer.json, or the one
spm_to_tokenizer_json.py makes of its spiece.model, with a variant's pre_tokenizer and extra
added tokens), after upstream's prompt cleaning (restated in tokenize_reference.py). Needs node
and `npm install tokenizers@0.23.2` in NODE_MODULES_DIR.

  hf_tokenizer_ids.py NODE_MODULES_DIR FIXTURE_JSON
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from tokenize_reference import clean  # noqa: E402


def variant_tokenizer(base, variant):
    tok = json.loads(json.dumps(base))
    if "pre_tokenizer" in variant:
        tok["pre_tokenizer"] = variant["pre_tokenizer"]
    if "normalizer_after_precompiled" in variant:  # the base's Precompiled, then these
        precompiled = tok["normalizer"]["normalizers"][0]
        tok["normalizer"] = {"type": "Sequence",
                             "normalizers": [precompiled] + variant["normalizer_after_precompiled"]}
    tok["added_tokens"] += variant.get("extra_added_tokens", [])
    return tok


def hf_ids(tokenizer, texts, node_modules):
    with tempfile.TemporaryDirectory() as d:
        tok_path, texts_path = os.path.join(d, "tokenizer.json"), os.path.join(d, "texts.json")
        json.dump(tokenizer, open(tok_path, "w", encoding="utf-8"), ensure_ascii=False)
        json.dump(texts, open(texts_path, "w", encoding="utf-8"), ensure_ascii=False)
        env = dict(os.environ, NODE_PATH=node_modules)
        out = subprocess.run(["node", os.path.join(HERE, "hf_tokenize.js"), tok_path, texts_path],
                             env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    node_modules = os.path.abspath(sys.argv[1])
    path = sys.argv[2]
    fixture = json.load(open(path, encoding="utf-8"))
    base_path = os.path.join(ROOT, fixture["tokenizer"])
    if base_path.endswith(".model"):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, os.path.join(HERE, "spm_to_tokenizer_json.py"),
                            base_path, os.path.join(d, "tokenizer.json")], check=True,
                           capture_output=True)
            base = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))
    else:
        base = json.load(open(base_path, encoding="utf-8"))
    version = json.load(open(os.path.join(node_modules, "tokenizers", "package.json")))["version"]
    fixture["generated_by"] = ("tools/reference/hf_tokenizer_ids.py with tokenizers %s (npm)"
                               % version)
    for variant in fixture["variants"]:
        prompts = variant.get("prompts", fixture["prompts"])
        if isinstance(prompts, str):
            prompts = json.load(open(os.path.join(ROOT, prompts), encoding="utf-8"))
        variant["ids"] = hf_ids(variant_tokenizer(base, variant), [clean(p) for p in prompts],
                                node_modules)
    text = json.dumps(fixture, ensure_ascii=False, indent=1)
    # One line per list of ids.
    text = re.sub(r"\[[\d,\s]*\]", lambda m: "[" + ", ".join(re.findall(r"\d+", m.group(0))) + "]",
                  text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
