#!/usr/bin/python3
"""Makes the multilingual unigram model and prompts of tests/data/hf_unigram_ids.json: a
16,000-piece sentencepiece model (T5's layout: <pad> 0, </s> 1, <unk> 2, no <s>; nmt_nfkc)
trained on the translated messages this Debian machine's packages ship
(/usr/share/locale/*/LC_MESSAGES/*.mo, 28 languages and scripts), and prompts to compare on:
strings of the model's own pieces (which often split another way when joined), runs of repeated
characters (where equal-scoring splits tie), and seeded random strings of letters, scripts,
emoji, compatibility and combining characters. No corpus text goes into the prompts. Then
hf_tokenizer_ids.py fills in the ids.

  make_unigram_test_model.py OUT_DIR   # writes OUT_DIR/spiece.model and OUT_DIR/prompts.json
"""
import gettext
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile

LANGS = ["de", "fr", "es", "ru", "ja", "zh_CN", "zh_TW", "ko", "ar", "hi", "pt_BR", "vi", "th",
         "uk", "el", "he", "tr", "pl", "it", "nl", "sv", "fi", "id", "fa", "bn", "ta", "ka", "hy"]
SOUP = list("abc xyz ABC 123 .,;!?'\"-") + [
    "é", "ü", "ß", "ﬁ", "①", "½", "¨", "´", "ｱ", "ｶﾞ", "Ａ", "ﾟ", "™", "…", "—", "你", "好", "世",
    "界", "日本", "한국어", "мир", "שלום", "سلام", "नमस्ते", "ไทย", "😀", "🐱", "👍🏽", "\u0301",
    "\u200b", "\u00a0", "𝒜", "㍿", "㈱", "ℌ", "Ⅳ", "ǅ", " ", " "]


def corpus_lines():
    lines = set()
    for lang in LANGS:
        size = 0
        for path in sorted(glob.glob("/usr/share/locale/%s/LC_MESSAGES/*.mo" % lang)):
            try:
                catalog = gettext.GNUTranslations(open(path, "rb"))._catalog
            except Exception:  # a file gettext cannot read: skip it
                continue
            for key, text in catalog.items():
                if isinstance(key, tuple) or not key or size > 150000:
                    continue
                size += len(text)
                for part in text.split("\n"):
                    part = re.sub(r"\s+", " ", part).strip()
                    if 8 <= len(part) <= 300:
                        lines.add(part)
    return sorted(lines)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(0)
    lines = corpus_lines()
    with tempfile.TemporaryDirectory() as d:
        corpus = os.path.join(d, "corpus.txt")
        shuffled = lines[:]
        rng.shuffle(shuffled)
        open(corpus, "w", encoding="utf-8").write("\n".join(shuffled) + "\n")
        subprocess.run(["spm_train", "--input=" + corpus, "--model_prefix=" + os.path.join(d, "m"),
                        "--vocab_size=16000", "--model_type=unigram",
                        "--character_coverage=0.9995", "--pad_id=0", "--eos_id=1", "--unk_id=2",
                        "--bos_id=-1", "--num_threads=1", "--minloglevel=2"], check=True)
        os.replace(os.path.join(d, "m.model"), os.path.join(out, "spiece.model"))
    import sentencepiece  # Debian's python3-sentencepiece
    model = sentencepiece.SentencePieceProcessor(model_file=os.path.join(out, "spiece.model"))
    pieces = [model.id_to_piece(i) for i in range(3, model.get_piece_size())]
    prompts = ["".join(rng.choice(pieces) for _ in range(rng.randint(2, 12))).replace("\u2581", " ")
               .strip() for _ in range(400)]
    for c in ["f", "w", "a", "!", ".", "z", "h", "ー", "哈", "ха", "ja"]:
        prompts += [c * n for n in range(2, 9)]
    prompts += ["".join(rng.choice(SOUP) for _ in range(rng.randint(1, 25))) for _ in range(400)]
    json.dump(prompts, open(os.path.join(out, "prompts.json"), "w", encoding="utf-8"),
              ensure_ascii=False)


if __name__ == "__main__":
    main()
