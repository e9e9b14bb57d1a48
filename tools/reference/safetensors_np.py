"""Minimal safetensors reader/writer on numpy, for the reference scripts (Debian's python3 has
no safetensors package). BF16/F16 are widened to float32."""
import json
import os
import struct

import numpy as np

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "U8": np.uint8}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[base + b:base + end]
        if e["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=_DTYPES[e["dtype"]])
        out[name] = arr.reshape(e["shape"]).copy()
    return out


def read_component(folder):
    """All tensors of a component folder, single file or shards."""
    out = {}
    for fname in sorted(os.listdir(folder)):
        if fname.endswith(".safetensors"):
            out.update(read(os.path.join(folder, fname)))
    return out


def load_component(model, name, to_tensor):
    """(config.json dict, {tensor name: to_tensor(array)}) of a checkpoint component folder."""
    folder = os.path.join(model, name)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    return cfg, {k: to_tensor(v) for k, v in read_component(folder).items()}


def to_bf16_bytes(a):
    """float32 -> BF16 bytes, rounding to nearest even (as torch's .to(bfloat16))."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16).tobytes()


def write(path, tensors, dtype="F32"):
    """Writes float tensors as F32 or BF16."""
    assert dtype in ("F32", "BF16")
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        if dtype == "BF16":
            b = to_bf16_bytes(tensors[name])
        else:
            b = np.ascontiguousarray(tensors[name], dtype=np.float32).tobytes()
        header[name] = {"dtype": dtype, "shape": list(np.shape(tensors[name])),
                        "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (len(h) + 8) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
