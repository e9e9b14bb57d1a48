#!/usr/bin/python3
"""Reference tokenization with Debian's python3-sentencepiece: upstream's prompt_clean (the
ftfy.fix_text steps mova.cpp reproduces, restated below from ftfy's documented behaviour, then
html.unescape twice, whitespace collapsed and stripped), sentencepiece ids truncated to
max_length-1, EOS, padding.

  tokenize_reference.py --model DIR --prompts FILE.json [--max-length 512]
Prints JSON: a list of [ids] (unpadded, EOS included), one per prompt.
"""
import argparse
import html
import json
import os
import re

import sentencepiece as spm


TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;]*[a-zA-Z]")
LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
             "\ufb05": "\u017ft", "\ufb06": "st"}
CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc"
                     "\U0001d173-\U0001d17a\U000e0000-\U000e007f]")


def ftfy_subset(text):
    if "<" not in text:
        text = html.unescape(text)
    text = TERMINAL_ESCAPE.sub("", text)
    # C1 controls that Windows-1252 defines become those characters.
    text = re.sub("[\x80-\x9f]", lambda m: (bytes([ord(m.group())]).decode("cp1252", "ignore")
                                            or m.group()), text)
    text = "".join(LIGATURES.get(c, c) for c in text)
    text = re.sub("[\u02bc\u2018-\u201b]", "'", text)
    text = re.sub("[\u201c-\u201f]", '"', text)
    return CONTROL.sub("", text)


def clean(text):
    text = html.unescape(html.unescape(ftfy_subset(text)))
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
