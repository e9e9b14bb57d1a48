#!/usr/bin/python3
"""Run the sync meter over every clip of a world.py output directory.

  eval_sync.py DIR [--shift-ms 200] [--source auto|mp4|npz] [--json] [--per-clip]

Prints the median over clips of |offset_ms| (each clip's median audio - visual
offset), the mean recall and the mean precision, and whether the clips pass
the sync bar: median |offset| <= 42 ms (one frame) and mean recall >= 0.9.
A clip with no matched pair counts as recall 0 and is left out of the offset
median (the count is reported). --source auto reads the MP4s when there are
any (the meter's real input) and otherwise the npz files.
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sync_meter  # noqa: E402

MAX_ABS_OFFSET_MS = 42.0
MIN_RECALL = 0.9


def evaluate(directory, shift_ms=0.0, source="auto"):
    if source == "auto":
        source = "mp4" if glob.glob(os.path.join(directory, "clip_*.mp4")) else "npz"
    paths = sorted(glob.glob(os.path.join(directory, f"clip_*.{source}")))
    if not paths:
        raise SystemExit(f"{directory}: no clip_*.{source} files")
    kinds = {}
    index = os.path.join(directory, "index.json")
    if os.path.exists(index):
        with open(index) as f:
            kinds = {c["name"]: c["kind"] for c in json.load(f)["clips"]}
    clips = []
    for p in paths:
        name = os.path.splitext(os.path.basename(p))[0]
        clips.append(sync_meter.measure_file(p, kinds.get(name), shift_ms=shift_ms))
    offsets = [abs(c["offset_ms"]) for c in clips if c["offset_ms"] is not None]
    med = float(np.median(offsets)) if offsets else None
    recall = float(np.mean([c["recall"] for c in clips]))
    summary = {
        "clips": len(clips),
        "source": source,
        "shift_ms": shift_ms,
        "median_abs_offset_ms": None if med is None else round(med, 1),
        "mean_recall": round(recall, 3),
        "mean_precision": round(float(np.mean([c["precision"] for c in clips])), 3),
        "clips_without_match": len(clips) - len(offsets),
        "pass": med is not None and med <= MAX_ABS_OFFSET_MS and recall >= MIN_RECALL,
    }
    for kind in sync_meter.KINDS:
        sub = [c for c in clips if c["kind"] == kind]
        if sub:
            offs = [abs(c["offset_ms"]) for c in sub if c["offset_ms"] is not None]
            summary[kind] = {"clips": len(sub),
                             "median_abs_offset_ms": round(float(np.median(offs)), 1) if offs else None,
                             "mean_recall": round(float(np.mean([c["recall"] for c in sub])), 3)}
    return summary, clips


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--shift-ms", type=float, default=0.0)
    ap.add_argument("--source", choices=("auto", "mp4", "npz"), default="auto")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--per-clip", action="store_true", help="also list every clip")
    args = ap.parse_args(argv)
    summary, clips = evaluate(args.dir, args.shift_ms, args.source)
    if args.json:
        if args.per_clip:
            summary["per_clip"] = clips
        print(json.dumps(summary, indent=1))
        return 0
    if args.per_clip:
        for c in clips:
            print(f"{os.path.basename(c['file'])} {c['kind']:5s} offset {c['offset_ms']} ms  "
                  f"recall {c['recall']:.2f} precision {c['precision']:.2f}  "
                  f"({c['visual_events']} visual, {c['audio_onsets']} audio)")
    print_summary(summary)
    return 0


def print_summary(s):
    print(f"{s['clips']} clips ({s['source']}), audio shifted {s['shift_ms']:+g} ms")
    print(f"  median |offset| {s['median_abs_offset_ms']} ms, mean recall {s['mean_recall']:.3f}, "
          f"mean precision {s['mean_precision']:.3f}, clips without a match {s['clips_without_match']}")
    for kind in sync_meter.KINDS:
        if kind in s:
            k = s[kind]
            print(f"  {kind:5s} {k['clips']:3d} clips: median |offset| {k['median_abs_offset_ms']} ms, "
                  f"mean recall {k['mean_recall']:.3f}")
    print(f"  sync bar (|offset| <= {MAX_ABS_OFFSET_MS:g} ms, recall >= {MIN_RECALL}): "
          f"{'PASS' if s['pass'] else 'FAIL'}")


if __name__ == "__main__":
    sys.exit(main())
