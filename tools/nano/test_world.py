#!/usr/bin/python3
"""Tests for the nano world and the sync meter: /usr/bin/python3 tools/nano/test_world.py"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_sync  # noqa: E402
import sync_meter  # noqa: E402
import world  # noqa: E402


def test_clip_format():
    for seed in range(8):
        c = world.make_clip(seed)
        assert c["kind"] == world.KINDS[seed % 4]
        f, a = c["frames"], c["audio"]
        assert f.shape == (49, 64, 64, 3) and f.dtype == np.uint8
        assert (f.shape[0] - 1) % 4 == 0
        assert a.shape == (32666,) and a.dtype == np.float32 and len(a) == int(16000 * 49 / 24)
        assert np.all(np.abs(a) <= 1.0) and np.abs(a).max() > 0.1
        assert c["sample_rate"] == 16000 and c["fps"] == 24
        assert isinstance(c["caption"], str) and len(c["caption"]) > 10
        assert sync_meter.kind_from_caption(c["caption"]) == c["kind"], c["caption"]
        ev = c["events"]
        assert ev and ev == sorted(ev) and 0 < ev[0] and ev[-1] < 49 / 24
        assert all(abs(e * 16000 - round(e * 16000)) < 1e-6 for e in ev), "events on samples"
        assert min(np.diff(ev), default=1) >= world.MIN_GAP - 1e-9
        # background noise: no exactly silent stretch
        assert np.std(a[:1000]) > 1e-3


def test_determinism():
    for seed in (3, 10, 12345):
        a, b = world.make_clip(seed), world.make_clip(seed)
        assert a["frames"].tobytes() == b["frames"].tobytes()
        assert a["audio"].tobytes() == b["audio"].tobytes()
        assert (a["caption"], a["events"]) == (b["caption"], b["events"])
    x, y = world.make_clip(100), world.make_clip(104)      # same kind, other seed
    assert x["frames"].tobytes() != y["frames"].tobytes()
    assert x["audio"].tobytes() != y["audio"].tobytes()


def test_meter_in_memory():
    for seed in range(200, 216):
        c = world.make_clip(seed)
        r = sync_meter.measure(c["frames"], c["audio"], 24, c["kind"], truth=c["events"])
        assert r["recall"] >= 0.9 and abs(r["offset_ms"]) <= 42, (seed, r)
        assert r["audio_vs_truth_ms"] <= 10, (seed, r)
        s = sync_meter.measure(c["frames"], c["audio"], 24, c["kind"], shift_ms=200)
        assert s["recall"] < 0.9 or abs(s["offset_ms"]) > 42, (seed, s)


def test_ball_detector_needs_a_ball():
    """A ball dissolved into scattered blobs that still drift along its path (what the nano
    denoiser drew in session 12) has no floor contacts: the detector skips frames whose
    foreground is not one compact blob. Without that check it finds the contacts anyway."""
    rng = np.random.default_rng(0)
    c = world.make_clip(300, "ball")
    f = c["frames"].astype(np.float32)
    bg = np.repeat(np.median(f.transpose(1, 0, 2, 3).reshape(64, -1, 3), axis=1)[:, None], 64, 1)
    ball = np.abs(f - bg).sum(-1) > 60
    scattered = np.repeat(bg[None], len(f), 0)
    for k in range(len(f)):
        ys, xs = np.nonzero(ball[k])
        cy, cx, r = ys.mean(), xs.mean(), np.sqrt(len(ys) / np.pi)
        py = np.rint(cy + rng.normal(0, 2.5 * r, len(ys))).astype(int)
        px = np.rint(cx + rng.normal(0, 2.5 * r, len(ys))).astype(int)
        inside = (py >= 0) & (py < 64) & (px >= 0) & (px < 64)
        scattered[k, py[inside], px[inside]] = f[k, ys[inside], xs[inside]]
    assert len(sync_meter.ball_events(f, 24)) >= len(c["events"]) - 1
    unchecked = sync_meter.ball_events(scattered, 24, min_compactness=0.0)
    assert len(unchecked) >= 2, unchecked  # the test's blobs do fool a centroid detector
    assert sync_meter.ball_events(scattered, 24) == [], sync_meter.ball_events(scattered, 24)


def test_match_is_one_to_one():
    # two visual events 40 ms either side of one onset: only one of them is confirmed, the
    # closer; an onset beyond the window confirms nothing
    diffs, used = sync_meter.match([1.00, 1.09, 2.0], [1.05, 2.2])
    assert len(diffs) == 1 and abs(diffs[0] + 0.04) < 1e-9 and used == {0}, (diffs, used)


def test_drum_detector_under_temporal_smear():
    """Decoded video smears the stick into its neighbouring frames; the drum detector must
    stay within a frame of the true contacts. With the mallet (session 13) it reads 27 ms
    median / 55 ms worst over both smears; with the thin stick before it read 15 / 51 ms
    (w = 0.25) and 23 / 50 ms (w = 0.4), and the lowest-moving-pixel detector it replaced
    33 / 62 and 48 / 62 ms."""
    errors = []
    for seed in range(201, 249, 4):
        c = world.make_clip(seed)
        assert c["kind"] == "drum"
        f = c["frames"].astype(np.float32)
        for w in (0.25, 0.4):
            smeared = f.copy()
            smeared[1:-1] = (1 - 2 * w) * f[1:-1] + w * (f[:-2] + f[2:])
            visual = sync_meter.drum_events(smeared, 24)
            errors.append(sync_meter.truth_error(visual, list(c["events"])))
    assert None not in errors, errors
    assert np.median(errors) <= 30 and max(errors) <= 58, errors


def test_cli_mp4_and_eval():
    d = tempfile.mkdtemp(prefix="nano_world_")
    try:
        world.main(["--out", d, "--count", "8", "--seed", "40", "--mp4"])
        with open(os.path.join(d, "index.json")) as f:
            index = json.load(f)
        assert len(index["clips"]) == 8
        for c in index["clips"]:
            for ext in (".npz", ".mp4"):
                assert os.path.exists(os.path.join(d, c["name"] + ext))
        z = np.load(os.path.join(d, "clip_00000.npz"))
        ref = world.make_clip(40)
        assert z["frames"].tobytes() == ref["frames"].tobytes()
        # the MP4 carries its kind; the meter finds it without help
        r = sync_meter.measure_file(os.path.join(d, "clip_00001.mp4"))
        assert r["kind"] == index["clips"][1]["kind"] and r["recall"] >= 0.9, r
        good, _ = eval_sync.evaluate(d)
        assert good["source"] == "mp4" and good["pass"], good
        assert good["median_abs_offset_ms"] <= 42 and good["mean_recall"] >= 0.9, good
        bad, _ = eval_sync.evaluate(d, shift_ms=200)
        assert not bad["pass"], bad
        assert bad["mean_recall"] < 0.9, bad
    finally:
        shutil.rmtree(d)


def test_append():
    d = tempfile.mkdtemp(prefix="nano_world_")
    try:
        world.main(["--out", d, "--count", "2", "--seed", "40"])
        world.main(["--out", d, "--count", "2", "--seed", "90", "--append"])
        with open(os.path.join(d, "index.json")) as f:
            clips = json.load(f)["clips"]
        assert [(c["name"], c["seed"]) for c in clips] == [
            ("clip_00000", 40), ("clip_00001", 41), ("clip_00002", 90), ("clip_00003", 91)]
        z = np.load(os.path.join(d, "clip_00002.npz"))
        assert z["frames"].tobytes() == world.make_clip(90)["frames"].tobytes()
        try:
            world.main(["--out", d, "--count", "3", "--seed", "39", "--append"])
            raise AssertionError("appending seeds already there was accepted")
        except SystemExit as e:
            assert "already there" in str(e), e
        assert not os.path.exists(os.path.join(d, "clip_00004.npz"))
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print(f"ok  {name}")
    print("all nano world tests passed")
