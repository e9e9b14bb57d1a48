"""PIL reference for mova.cpp's image input: decoding and resizing exactly as upstream's
preprocessing does (PIL open -> convert("RGB") -> resize/crop).

usage: pil_image_reference.py JOBS.json
JOBS.json is a list of jobs; each writes an RGB PNG (or, for "make", a test image):
  {"op": "make", "out": P, "kind": "png-rgba"|"png-palette"|"png-gray"|"png-gray16"|"png-la"|
       "jpeg"|"jpeg-progressive"|"jpeg-gray", "w": W, "h": H, "seed": S}
  {"op": "decode", "in": P, "out": P}
  {"op": "resize", "in": P, "out": P, "w": W, "h": H, "box": [x0, y0, x1, y1] (optional)}
  {"op": "crop_and_resize", "in": P, "out": P, "w": W, "h": H}  (upstream's, restated)
Prints {"jobs": N} as JSON when all jobs succeed.
"""
import json
import sys

import numpy as np
from PIL import Image


def make(job):
    rng = np.random.default_rng(job["seed"])
    w, h = job["w"], job["h"]
    # Smooth gradients plus noise: both flat and busy regions, like photos.
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255.0 / max(w - 1, 1), yy * 255.0 / max(h - 1, 1),
                     (xx + yy) * 127.0 / max(w + h - 2, 1)], axis=-1)
    rgb = np.clip(base + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
    kind = job["kind"]
    fmt = "JPEG" if kind.startswith("jpeg") else "PNG"
    img = Image.fromarray(rgb, "RGB")
    if kind == "png-rgba":
        alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(job["out"], format=fmt)
    elif kind == "png-palette":
        img.quantize(colors=37).save(job["out"], format=fmt)
    elif kind == "png-gray":
        img.convert("L").save(job["out"], format=fmt)
    elif kind == "png-la":
        img.convert("LA").save(job["out"], format=fmt)
    elif kind == "png-gray16":
        Image.fromarray((rgb[..., 0].astype(np.uint16) * 257), "I;16").save(job["out"], format=fmt)
    elif kind == "png-rgb":
        img.save(job["out"], format=fmt)
    elif kind == "jpeg":
        img.save(job["out"], format=fmt, quality=90)
    elif kind == "jpeg-progressive":
        img.save(job["out"], format=fmt, quality=80, progressive=True)
    elif kind == "jpeg-gray":
        img.convert("L").save(job["out"], format=fmt, quality=85)
    else:
        raise SystemExit("unknown kind " + kind)


def crop_and_resize(src, dst, width, height):
    """MOVA's crop_and_resize as docs/upstream/generate.md §1.3 states it: centre-crop to the
    target aspect (sizes truncated, offsets floored), then PIL's default (bicubic) resize."""
    a = np.array(Image.open(src).convert("RGB"))
    ih, iw = a.shape[:2]
    if ih / iw < height / width:
        cw = int(ih / height * width)
        left = (iw - cw) // 2
        a = a[:, left:left + cw]
    else:
        ch = int(iw / width * height)
        top = (ih - ch) // 2
        a = a[top:top + ch]
    Image.fromarray(a).resize((width, height)).save(dst, format="PNG")


def main():
    jobs = json.load(open(sys.argv[1]))
    for job in jobs:
        op = job["op"]
        if op == "make":
            make(job)
        elif op == "decode":
            Image.open(job["in"]).convert("RGB").save(job["out"], format="PNG")
        elif op == "resize":
            img = Image.open(job["in"]).convert("RGB")
            box = tuple(job["box"]) if "box" in job else None
            img.resize((job["w"], job["h"]), Image.BICUBIC, box=box).save(job["out"], format="PNG")
        elif op == "crop_and_resize":
            crop_and_resize(job["in"], job["out"], job["w"], job["h"])
        else:
            raise SystemExit("unknown op " + op)
    print(json.dumps({"jobs": len(jobs)}))


if __name__ == "__main__":
    main()
