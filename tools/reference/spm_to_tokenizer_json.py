#!/usr/bin/python3
"""Writes the tokenizer.json that Hugging Face's T5 converter (SpmConverter) makes from a
sentencepiece unigram model, restated from its documented output: a Unigram model with the
model's (piece, score) list and unk id, a Precompiled normalizer carrying the model's
charsmap followed by Replace(" {2,}" -> " "), a Metaspace pre-tokenizer and decoder, and
"$A </s>" post-processing. Control and unknown pieces become special added tokens.

  spm_to_tokenizer_json.py SPIECE_MODEL OUT_JSON
"""
import base64
import json
import struct
import sys


def varint(b, i):
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    """Yields (field, wire, value) of one protobuf message (no nesting)."""
    i = 0
    while i < len(b):
        tag, i = varint(b, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise SystemExit("unsupported wire type %d" % wire)
        yield field, wire, v


def main():
    data = open(sys.argv[1], "rb").read()
    pieces, charsmap, unk_id = [], b"", 0
    for field, _, v in fields(data):
        if field == 1:
            piece, score, kind = "", 0.0, 1
            for f, _, x in fields(v):
                if f == 1:
                    piece = x.decode("utf-8")
                elif f == 2:
                    score = struct.unpack("<f", x)[0]
                elif f == 3:
                    kind = x
            pieces.append((piece, score, kind))
        elif field == 2:
            for f, _, x in fields(v):
                if f == 40:
                    unk_id = x
        elif field == 3:
            for f, _, x in fields(v):
                if f == 2:
                    charsmap = x
    added = [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, (p, _, kind) in enumerate(pieces) if kind in (2, 3)]
    eos = next(i for i, (p, _, _) in enumerate(pieces) if p == "</s>")
    out = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled",
             "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                          "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [], "special_tokens": {"</s>": {"id": "</s>", "ids": [eos],
                                                                  "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                    "split": True},
        "model": {"type": "Unigram", "unk_id": unk_id,
                  "vocab": [[p, s] for p, s, _ in pieces], "byte_fallback": False},
    }
    json.dump(out, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
    print(json.dumps({"pieces": len(pieces), "charsmap_bytes": len(charsmap)}))


if __name__ == "__main__":
    main()
