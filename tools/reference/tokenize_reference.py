#!/usr/bin/python3
"""Reference tokenization with Debian's python3-sentencepiece: upstream's prompt_clean (the
ftfy.fix_text steps mova.cpp reproduces, restated below from ftfy 6.3's code and documented
behaviour with Python's own html, unicodedata and str functions, then html.unescape twice,
whitespace collapsed and stripped), sentencepiece ids truncated to max_length-1, EOS, padding.

  tokenize_reference.py --model DIR --prompts FILE.json [--max-length 512]
      prints JSON: a list of [ids] (unpadded, EOS included), one per prompt.
  tokenize_reference.py --clean --prompts FILE.json
      prints JSON: the cleaned prompts (what is tokenized).
"""
import argparse
import html
import html.entities
import json
import os
import re
import unicodedata


def _ftfy_entities():
    """ftfy's HTML_ENTITIES: names ending in ';', plus the upper-case form of each all-lower-case
    one that html.unescape leaves alone ("&EACUTE;" -> "É")."""
    entities = {}
    for name, char in html.entities.html5.items():
        if name.endswith(";"):
            entities["&" + name] = char
            upper = "&" + name.upper()
            if name == name.lower() and html.unescape(upper) == upper:
                entities[upper] = char.upper()
    return entities


ENTITIES = _ftfy_entities()
ENTITY_RE = re.compile(r"&#?[0-9A-Za-z]{1,24};")
WIDTH = {0x3000: " "}
WIDTH.update({i: unicodedata.normalize("NFKC", chr(i)) for i in range(0xFF01, 0xFFF0)
              if unicodedata.normalize("NFKC", chr(i)) != chr(i)})
LIGATURES = {ord(k): v for k, v in {
    "\u0132": "IJ", "\u0133": "ij", "\u0149": "\u02bcn", "\u01f1": "DZ", "\u01f2": "Dz",
    "\u01f3": "dz", "\u01c4": "D\u017d", "\u01c5": "D\u017e", "\u01c6": "d\u017e", "\u01c7": "LJ",
    "\u01c8": "Lj", "\u01c9": "lj", "\u01ca": "NJ", "\u01cb": "Nj", "\u01cc": "nj", "\ufb00": "ff",
    "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "\u017ft",
    "\ufb06": "st"}.items()}
# ftfy's pattern has \d, i.e. any Unicode decimal digit; mova (and this) take ASCII digits only.
TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;]*[a-zA-Z]")
CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]")


def unescape_html(text):
    def fix(m):
        t = m.group(0)
        if t in ENTITIES:
            return ENTITIES[t]
        if t.startswith("&#"):
            u = html.unescape(t)
            return t if ";" in u else u
        return t
    return ENTITY_RE.sub(fix, text)


def ftfy_round(text, unescape):
    """One round of fix_and_explain (fix_encoding and NFC left out, as in mova: docs/text.md)."""
    if unescape:
        text = unescape_html(text)
    # C1 controls that Windows-1252 defines become those characters ("sloppy": the rest stay).
    text = re.sub("[\x80-\x9f]", lambda m: (bytes([ord(m.group())]).decode("cp1252", "ignore")
                                            or m.group()), text)
    text = text.translate(LIGATURES).translate(WIDTH)
    text = re.sub("[\u02bc\u2018-\u201b]", "'", text)
    text = re.sub("[\u201c-\u201f]", '"', text)
    text = TERMINAL_ESCAPE.sub("", text)
    return CONTROL.sub("", text)


def ftfy_subset(text):
    """fix_text: line segments; from the first one holding '<' on, entities stay; each segment
    fixed until a round changes nothing."""
    out, pos, unescape = [], 0, True
    while pos < len(text):
        end = min((text.find("\n", pos) + 1) or len(text), pos + 1000000)
        segment = text[pos:end]
        if "<" in segment:
            unescape = False
        while True:
            fixed = ftfy_round(segment, unescape)
            if fixed == segment:
                break
            segment = fixed
        out.append(segment)
        pos = end
    return "".join(out)


def clean(text):
    text = html.unescape(html.unescape(ftfy_subset(text)))
    return re.sub(r"\s+", " ", text).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--clean", action="store_true", help="print the cleaned prompts instead")
    a = ap.parse_args()
    prompts = json.load(open(a.prompts, encoding="utf-8"))
    if a.clean:
        print(json.dumps([clean(p) for p in prompts]))
        return
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor()
    sp.Load(os.path.join(a.model, "tokenizer", "spiece.model"))
    out = []
    for p in prompts:
        ids = sp.EncodeAsIds(clean(p))[: a.max_length - 1] + [sp.eos_id()]
        out.append(ids)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
