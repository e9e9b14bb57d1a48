#!/usr/bin/python3
"""Reference tokenization with Debian's python3-sentencepiece: html.unescape twice, whitespace
collapsed and stripped (upstream's prompt_clean without ftfy, which mova.cpp does not
reproduce), sentencepiece ids truncated to max_length-1, EOS, padding.

  tokenize_reference.py --model DIR --prompts FILE.json [--max-length 512]
Prints JSON: a list of [ids] (unpadded, EOS included), one per prompt.
"""
import argparse
import html
import json
import os
import re

import sentencepiece as spm


def clean(text):
    text = html.unescape(html.unescape(text))
    return re.sub(r"\s+", " ", text).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--max-length", type=int, default=512)
    a = ap.parse_args()
    sp = spm.SentencePieceProcessor()
    sp.Load(os.path.join(a.model, "tokenizer", "spiece.model"))
    out = []
    for p in json.load(open(a.prompts, encoding="utf-8")):
        ids = sp.EncodeAsIds(clean(p))[: a.max_length - 1] + [sp.eos_id()]
        out.append(ids)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
