#!/usr/bin/python3
"""Trains the nano model's sentencepiece tokenizer on the world's captions with `spm_train`
(Debian's sentencepiece) and writes it into a checkpoint's tokenizer/ folder as the published
UMT5 tokenizer is laid out: spiece.model plus the tokenizer.json that T5TokenizerFast reads.

  train_tokenizer.py --model DIR --data DIR [--vocab 256]

The ids follow UMT5's: <pad> 0, </s> 1, <s> 2 (unused by T5, kept for the layout), <unk> 3.
The vocabulary must fit the text encoder's embedding (vocab_size in text_encoder/config.json).
Training is deterministic (one thread), so the same captions give the same tokenizer.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--vocab", type=int, default=256)
    a = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(a.data, "clip_*.npz")))
    if not paths:
        raise SystemExit(f"{a.data}: no clip_*.npz (run world.py first)")
    with open(os.path.join(a.model, "text_encoder", "config.json")) as f:
        limit = json.load(f)["vocab_size"]
    if a.vocab > limit:
        raise SystemExit(f"--vocab {a.vocab} exceeds the text encoder's vocab_size {limit}")
    folder = os.path.join(a.model, "tokenizer")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "captions.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            for p in paths:
                f.write(str(np.load(p)["caption"]) + "\n")
        prefix = os.path.join(tmp, "spiece")
        subprocess.run(
            ["spm_train", f"--input={corpus}", f"--model_prefix={prefix}",
             f"--vocab_size={a.vocab}", "--hard_vocab_limit=false", "--model_type=unigram",
             "--character_coverage=1.0", "--pad_id=0", "--eos_id=1", "--bos_id=2",
             "--unk_id=3", "--pad_piece=<pad>", "--eos_piece=</s>", "--bos_piece=<s>",
             "--unk_piece=<unk>", "--num_threads=1", "--minloglevel=2"],
            check=True, stderr=subprocess.DEVNULL)
        os.replace(prefix + ".model", os.path.join(folder, "spiece.model"))
    subprocess.run([sys.executable, os.path.join(HERE, "..", "reference", "spm_to_tokenizer_json.py"),
                    os.path.join(folder, "spiece.model"), os.path.join(folder, "tokenizer.json")],
                   check=True)
    print(f"tokenizer: {len(paths)} captions -> {folder}")


if __name__ == "__main__":
    main()
