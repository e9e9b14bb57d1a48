#!/usr/bin/python3
"""Procedural audio-visual world for the nano MOVA (issue #8).

Every clip is one small scene whose sounds are caused by visible events:

  ball   a ball (radius 8-11 px) dropped from rest bounces on a floor (the same
         gravity and bounciness for all); a thud at every floor contact (pitch
         by size: smaller ball = higher thud)
  drum   a mallet (thick stick, round head) strikes a drum; a drum hit at every
         contact
  face   a cartoon face says "ba" a few times; mouth opening follows the
         syllable's loudness envelope
  light  a coloured light beeps (a buzzer tone) exactly while it is lit

Video: 64x64 RGB uint8, 24 fps, 49 frames (2.04 s). Audio: mono float32,
16 kHz, 32666 samples. Every sound onset is placed on an exact audio sample
and its time (seconds) is recorded in `events`.

Frame k shows the scene at t = k / 24 s. Things that switch on (the light,
the mouth) are drawn with a one-frame box "exposure", i.e. a frame shows
the average state over [t - 1/48, t + 1/48], so a switch between frames is
visible as an intermediate level.

Usage:
  world.py --out DIR --count N --seed S [--mp4] [--kind ball|drum|face|light]
Clip i of a run uses seed S + i; unless --kind is given its kind is
KINDS[(S + i) % 4], so any 4 consecutive clips cover all kinds.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

W = H = 64
FPS = 24
NUM_FRAMES = 49
SR = 16000
NUM_SAMPLES = int(SR * NUM_FRAMES / FPS)  # 32666
DURATION = NUM_SAMPLES / SR
KINDS = ("ball", "drum", "face", "light")
MIN_GAP = 0.15     # s, minimum spacing of any two sound onsets in a clip
FIRST_EVENT = 0.10  # s, no event before this
LAST_EVENT = DURATION - 0.12  # s, no event after this
GRAVITY = 700.0     # px/s^2, every ball
RESTITUTION = 0.8   # every ball

COLOURS = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 90, 230),
    "yellow": (240, 215, 40), "orange": (245, 140, 20), "purple": (150, 50, 200),
    "white": (245, 245, 245), "cyan": (50, 210, 220), "pink": (245, 120, 190),
}
WALLS = {
    "grey": (105, 105, 110), "beige": (185, 170, 145), "navy": (30, 40, 80),
    "teal": (35, 85, 90), "dark": (30, 30, 34), "olive": (95, 100, 55),
}
FLOORS = {
    "wooden": (135, 90, 50), "stone": (125, 125, 120), "green": (55, 95, 55),
    "dark": (45, 40, 40), "sandy": (200, 180, 130),
}
SKINS = {
    "yellow": (240, 205, 80), "pale": (245, 215, 190), "tan": (200, 150, 105),
    "green": (120, 200, 110), "blue": (120, 160, 240), "pink": (245, 170, 180),
}
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven",
                "eight", "nine", "ten", "eleven", "twelve"]

_YY, _XX = np.mgrid[0:H, 0:W].astype(np.float32) + 0.5  # pixel centres


# ----------------------------------------------------------------- helpers

def number(n):
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


def times_word(n):
    return {1: "once", 2: "twice"}.get(n, f"{number(n)} times")


def a_(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


def colour_dist(a, b):
    return sum(abs(int(x) - int(y)) for x, y in zip(a, b))


def pick(rng, table, avoid=(), min_dist=0):
    """Random (name, rgb) from table, at least min_dist (L1) from every rgb in avoid."""
    names = [n for n, c in table.items() if all(colour_dist(c, a) >= min_dist for a in avoid)]
    name = names[rng.integers(len(names))]
    return name, table[name]


def choose(rng, seq):
    return seq[rng.integers(len(seq))]


def paint(img, alpha, colour):
    a = alpha[..., None]
    img *= 1.0 - a
    img += a * np.asarray(colour, np.float32)


def disc(img, cx, cy, r, colour, alpha=1.0):
    d = np.sqrt((_XX - cx) ** 2 + (_YY - cy) ** 2)
    paint(img, np.clip(r - d + 0.5, 0, 1) * alpha, colour)


def ellipse(img, cx, cy, rx, ry, colour):
    q = np.sqrt(((_XX - cx) / rx) ** 2 + ((_YY - cy) / ry) ** 2)
    paint(img, np.clip((1 - q) * min(rx, ry) + 0.5, 0, 1), colour)


def rect(img, x0, y0, x1, y1, colour):
    inside = np.minimum(np.minimum(_XX - x0, x1 - _XX), np.minimum(_YY - y0, y1 - _YY))
    paint(img, np.clip(inside + 0.5, 0, 1), colour)


def segment(img, x0, y0, x1, y1, half_width, colour):
    dx, dy = x1 - x0, y1 - y0
    u = np.clip(((_XX - x0) * dx + (_YY - y0) * dy) / (dx * dx + dy * dy), 0, 1)
    d = np.hypot(_XX - (x0 + u * dx), _YY - (y0 + u * dy))
    paint(img, np.clip(half_width - d + 0.5, 0, 1), colour)


def backdrop(rng, wall, floor=None, floor_y=None):
    """Static background: wall with a gentle vertical shade, optional floor, faint texture."""
    img = np.empty((H, W, 3), np.float32)
    shade = 1.0 + 0.12 * (_YY[:, :1] / H - 0.5)
    img[:] = np.asarray(wall, np.float32) * shade[..., None]
    if floor is not None:
        rect(img, -2, floor_y, W + 2, H + 2, floor)
    img += rng.uniform(-3, 3, size=(H, W, 1)).astype(np.float32)
    return img


def frame_times():
    return np.arange(NUM_FRAMES) / FPS


def exposure(on_fn, t, sub=16):
    """Mean of on_fn over the frame's exposure window [t - 1/48, t + 1/48]."""
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    return float(np.mean([on_fn(t + o / FPS) for o in offs]))


def place(t):
    """Snap an event time onto the audio sample grid; returns (sample, seconds)."""
    n = int(round(t * SR))
    return n, n / SR


def add_at(audio, n0, sound):
    n1 = min(NUM_SAMPLES, n0 + len(sound))
    audio[n0:n1] += sound[:n1 - n0]


def spaced_ok(times):
    ts = sorted(times)
    return (len(ts) > 0 and ts[0] >= FIRST_EVENT and ts[-1] <= LAST_EVENT
            and all(b - a >= MIN_GAP for a, b in zip(ts, ts[1:])))


# ----------------------------------------------------------------- sounds

def thud(rng, radius, strength):
    """Decaying sine (pitch by size) plus a short noise burst."""
    t = np.arange(int(0.35 * SR)) / SR
    f = 2600.0 / radius * (1 + 0.25 * np.exp(-t / 0.01))
    tau = 0.03 + 0.005 * radius
    tone = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / tau)
    burst = rng.standard_normal(len(t)) * np.exp(-t / 0.004) * 0.3
    return (strength * (tone + burst)).astype(np.float32)


def drum_hit(rng, f0, strength):
    t = np.arange(int(0.5 * SR)) / SR
    f = f0 * (1 + 0.6 * np.exp(-t / 0.015))
    body = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / 0.12)
    skin = rng.standard_normal(len(t)) * np.exp(-t / 0.03) * 0.35
    return (strength * (body + skin)).astype(np.float32)


def ba_envelope(t, dur):
    """Loudness envelope of one 'ba' (t in seconds since onset); also drives the mouth."""
    t = np.asarray(t, np.float64)
    attack = np.clip(t / 0.012, 0, 1)
    release = np.clip((dur - t) / 0.06, 0, 1)
    body = 1.0 - 0.25 * np.clip(t / dur, 0, 1)
    return np.where((t >= 0) & (t < dur), attack * release * body, 0.0)


def ba_syllable(rng, f0, dur, strength):
    """Voiced 'ba': harmonic tone with /b/->/a/ formant glide and a release burst."""
    t = np.arange(int(dur * SR)) / SR
    glide = 1 - np.exp(-t / 0.03)
    formants = ((300 + 450 * glide, 100, 1.0), (900 + 350 * glide, 130, 0.6),
                (2600 + 0 * t, 200, 0.25))
    f0t = f0 * (1.05 - 0.1 * t / dur)
    phase = 2 * np.pi * np.cumsum(f0t) / SR
    sig = np.zeros_like(t)
    for k in range(1, int(4500 / f0) + 1):
        fk = k * f0t
        gain = sum(a / (1 + ((fk - fc) / bw) ** 2) for fc, bw, a in formants)
        sig += gain * np.sin(k * phase) / np.sqrt(k)
    sig /= np.max(np.abs(sig)) + 1e-9
    sig *= ba_envelope(t, dur)
    sig[:96] += rng.standard_normal(96) * np.exp(-np.arange(96) / 24.0) * 0.3  # lip release
    return (strength * sig).astype(np.float32)


def beep(freq, dur, strength):
    """A buzzer beep: a soft-clipped sine (odd harmonics). A pure sine was the one sound the
    nano DAC did not learn to reconstruct in thousands of steps (all energy in one bin)."""
    t = np.arange(int(round(dur * SR))) / SR
    ramp = np.clip(np.minimum(t, dur - t) / 0.003, 0, 1)
    tone = np.tanh(3.0 * np.sin(2 * np.pi * freq * t)) / np.tanh(3.0)
    return (strength * ramp * tone).astype(np.float32)


# ----------------------------------------------------------------- scenes

def ball_trajectory(rng, floor_y, r):
    """Bounce physics of one ball dropped from rest.
    Returns (height fn, [(contact_t, impact_speed)]).

    Gravity and restitution are the same for every ball, so the first frame (the drop
    height) fixes the whole motion. Before session 14 gravity, bounciness and the launch
    were random, which no single frame shows, and the nano denoiser drew held-out balls as
    blobs: one motion per first frame is a simpler thing to learn."""
    g, e = GRAVITY, RESTITUTION
    top = floor_y - 2 * r - 3                        # max height of the ball bottom
    h0 = rng.uniform(0.35, 1.0) * top                # drop height above the floor
    # flights: list of (t_start, h_start, v_start), v + = upwards; contacts: (t, speed)
    flights, contacts = [(0.0, h0, 0.0)], []
    t, h, v = 0.0, h0, 0.0
    while t < DURATION:
        tc = t + (v + np.sqrt(v * v + 2 * g * h)) / g   # next time h == 0
        speed = g * (tc - t) - v
        contacts.append((tc, speed))
        v = e * speed
        t, h = tc, 0.0
        if v * v / (2 * g) < 3.0:                     # too small a rebound: rest
            flights.append((t, 0.0, None))
            break
        flights.append((t, 0.0, v))

    def height(tq):
        for ts, hs, vs in reversed(flights):
            if tq >= ts:
                if vs is None:
                    return 0.0
                dt = tq - ts
                return max(hs + vs * dt - 0.5 * g * dt * dt, 0.0)
        return h0

    return height, contacts


def scene_ball(rng):
    # One ball: two dropped together at the same gravity and restitution cannot space their
    # landings MIN_GAP apart while both keep bouncing (session 14 tried; no draw passes).
    wall_name, wall = pick(rng, WALLS)
    floor_name, floor = pick(rng, FLOORS, avoid=[wall], min_dist=60)
    name, col = pick(rng, COLOURS, avoid=[wall, floor], min_dist=150)
    while True:
        floor_y = rng.uniform(48, 56)
        # Balls at least 16 px across: the nano video VAE's 8x8 latent cells turned smaller
        # ones (radius 3-8, before session 13) into blobs of the wrong colour.
        r = rng.uniform(8.0, 11.0)
        x0 = rng.uniform(r + 2, W - r - 2)
        height, contacts = ball_trajectory(rng, floor_y, r)
        contacts = [c for c in contacts if c[0] < DURATION]
        # events well spaced, and the ball still moving at 60% of the clip (so a resting
        # ball never dominates the picture's static background)
        if spaced_ok([c[0] for c in contacts]) and len(contacts) >= 2 and (
                height(0.6 * DURATION) > 0 or contacts[-1][0] > 0.6 * DURATION):
            break

    bg = backdrop(rng, wall, floor, floor_y)
    frames = []
    for t in frame_times():
        img = bg.copy()
        disc(img, x0, floor_y - r - height(t), r, col)
        frames.append(img)

    audio = np.zeros(NUM_SAMPLES, np.float32)
    events = []
    vmax = max(c[1] for c in contacts)
    for tc, speed in contacts:
        n0, te = place(tc)
        add_at(audio, n0, thud(rng, r, 0.2 + 0.35 * speed / vmax))
        events.append(te)

    size = "small" if r < 9.0 else ("medium-sized" if r < 10.0 else "big")
    n = len(events)
    caption = choose(rng, (
        f"A {size} {name} ball bounces on a {floor_name} floor, "
        f"making a knock each time it lands.",
        f"A {size} {name} ball bounces {times_word(n)} on the {floor_name} "
        f"floor in front of {a_(wall_name)} wall.",
        f"{name.capitalize()} ball, {size}, hitting the floor "
        f"{times_word(n)} with a thud at every landing.",
    ))
    return frames, audio, events, caption


def scene_drum(rng):
    wall_name, wall = pick(rng, WALLS)
    drum_name, drum = pick(rng, COLOURS, avoid=[wall], min_dist=150)
    head = (235, 225, 200)
    stick = (70, 45, 25) if colour_dist(wall, (70, 45, 25)) >= 150 else (240, 240, 240)
    rx = rng.uniform(10, 16)              # drum radius: bigger = lower
    cx = rng.uniform(22, 34)
    head_y = rng.uniform(36, 44)          # top of the drum head
    ry = rx * 0.3
    hits = [rng.uniform(0.2, 0.5)]
    while True:
        nxt = hits[-1] + rng.uniform(0.2, 0.5)
        if nxt > LAST_EVENT:
            break
        hits.append(nxt)
    hits = [place(t)[1] for t in hits]
    lift = 22.0

    def tip_height(t):
        if t < hits[0]:
            return lift * np.sin(np.pi / 2 * np.clip((hits[0] - t) / 0.3, 0, 1))
        for a, b in zip(hits, hits[1:]):
            if t < b:
                return lift * min(1, (b - a) / 0.45) * np.sin(np.pi * (t - a) / (b - a))
        return lift * np.sin(np.pi / 2 * np.clip((t - hits[-1]) / 0.25, 0, 1))

    bg = backdrop(rng, wall, FLOORS["dark"], 58)
    rect(bg, cx - rx, head_y, cx + rx, head_y + 14, drum)          # shell
    ellipse(bg, cx, head_y + 14, rx, ry, drum)                     # rounded bottom
    ellipse(bg, cx, head_y, rx, ry, head)                          # head
    pivot = (cx + rx + 18, head_y - 24)
    frames = []
    for t in frame_times():
        img = bg.copy()
        # A thick stick with a round head (a mallet): the VAE smeared the old 2.6 px stick.
        tip = (cx + 0.3 * rx, head_y - 3.5 - tip_height(t))
        segment(img, pivot[0], pivot[1], tip[0], tip[1], 2.2, stick)
        disc(img, tip[0], tip[1], 3.4, stick)
        frames.append(img)

    audio = np.zeros(NUM_SAMPLES, np.float32)
    f0 = 1800.0 / rx
    prev = None
    for t in hits:
        strength = 0.3 + 0.2 * (1 if prev is None else min(1, (t - prev) / 0.45))
        add_at(audio, place(t)[0], drum_hit(rng, f0, strength))
        prev = t
    size = "small" if rx < 13 else "large"
    n = len(hits)
    caption = choose(rng, (
        f"{a_(drum_name).capitalize()} drum is hit {times_word(n)} with a stick.",
        f"A stick strikes a {size} {drum_name} drum {times_word(n)}; each hit booms.",
        f"Drumming: {number(n)} strikes on a {size} {drum_name} drum in front of "
        f"{a_(wall_name)} wall.",
    ))
    return frames, audio, list(hits), caption


def scene_face(rng):
    wall_name, wall = pick(rng, WALLS)
    skin_name, skin = pick(rng, SKINS, avoid=[wall], min_dist=150)
    R = rng.uniform(19, 25)
    cx, cy = rng.uniform(29, 35), rng.uniform(28, 33)
    f0 = rng.uniform(100, 230)
    n = int(rng.integers(1, 5))
    while True:
        syl, t = [], rng.uniform(0.1, 0.5)
        for _ in range(n):
            dur = rng.uniform(0.16, 0.28)
            syl.append((place(t)[1], dur, rng.uniform(0.85, 1.0)))
            t += dur + rng.uniform(0.1, 0.3)
        if syl[-1][0] + syl[-1][1] <= DURATION - 0.05 and spaced_ok([s[0] for s in syl]):
            break
        n = max(1, n - 1) if rng.random() < 0.5 else n

    def openness(tq):
        return sum(o * ba_envelope(tq - t0, dur) for t0, dur, o in syl)

    bg = backdrop(rng, wall)
    disc(bg, cx, cy, R, skin)
    for sx in (-1, 1):
        disc(bg, cx + sx * R * 0.38, cy - R * 0.28, R * 0.12, (25, 25, 30))
    mouth_y, mouth_w = cy + R * 0.45, R * 0.36
    frames = []
    for t in frame_times():
        img = bg.copy()
        ellipse(img, cx, mouth_y, mouth_w, 0.7 + R * 0.3 * exposure(openness, t), (70, 15, 25))
        frames.append(img)

    audio = np.zeros(NUM_SAMPLES, np.float32)
    for t0, dur, o in syl:
        add_at(audio, place(t0)[0], ba_syllable(rng, f0, dur, 0.55 * o))
    voice = "low" if f0 < 160 else "high"
    caption = choose(rng, (
        f"A cartoon face with {skin_name} skin says 'ba' {times_word(n)}.",
        f"{a_(skin_name).capitalize()} cartoon face says 'ba' {times_word(n)} in a {voice} voice.",
        f"{a_(skin_name).capitalize()} face in front of {a_(wall_name)} wall saying ba, {number(n)} "
        f"{'time' if n == 1 else 'times'}.",
    ))
    return frames, audio, [s[0] for s in syl], caption


def scene_light(rng):
    wall_name, wall = pick(rng, WALLS)
    name, col = pick(rng, COLOURS, avoid=[wall], min_dist=150)
    while True:
        spans, t = [], rng.uniform(0.1, 0.5)
        while t < LAST_EVENT:
            dur = rng.uniform(0.12, 0.4)
            spans.append((place(t)[1], place(t + dur)[1]))
            t += dur + rng.uniform(0.15, 0.45)
        if spans and spans[-1][1] <= DURATION - 0.05 and len(spans) <= 6:
            break
    freq = rng.uniform(500, 1500)
    r = rng.uniform(5, 9)
    cx, cy = rng.uniform(20, 44), rng.uniform(18, 40)

    def is_on(tq):
        return float(any(a <= tq < b for a, b in spans))

    bg = backdrop(rng, wall)
    rect(bg, cx - 1.5, -2, cx + 1.5, cy - r + 1, (60, 60, 60))    # cord
    dim = np.asarray(col, np.float32) * 0.3 + np.asarray(wall, np.float32) * 0.2
    glow = np.clip(1.0 - (np.hypot(_XX - cx, _YY - cy) - r) / (1.2 * r), 0, 1) * 0.35
    frames = []
    for t in frame_times():
        img = bg.copy()
        level = exposure(is_on, t)
        paint(img, glow * level, col)
        disc(img, cx, cy, r, dim * (1 - level) + np.asarray(col, np.float32) * level)
        frames.append(img)

    audio = np.zeros(NUM_SAMPLES, np.float32)
    for a, b in spans:
        add_at(audio, place(a)[0], beep(freq, b - a, rng.uniform(0.3, 0.45)))
    n = len(spans)
    pitch = "low" if freq < 900 else "high"
    caption = choose(rng, (
        f"{a_(name).capitalize()} light beeps {times_word(n)}, glowing while it sounds.",
        f"{a_(name).capitalize()} bulb blinks on {times_word(n)}; it beeps whenever it is lit.",
        f"{name.capitalize()} lamp flashing {times_word(n)} with a {pitch} beep.",
    ))
    return frames, audio, [s[0] for s in spans], caption


SCENES = {"ball": scene_ball, "drum": scene_drum, "face": scene_face, "light": scene_light}


def make_clip(seed, kind=None):
    """One clip. Deterministic in (seed, kind); kind defaults to KINDS[seed % 4]."""
    kind = kind or KINDS[seed % len(KINDS)]
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    frames, audio, events, caption = SCENES[kind](rng)
    frames = np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)
    audio = audio + rng.uniform(0.002, 0.006) * rng.standard_normal(NUM_SAMPLES)  # room noise
    peak = float(np.max(np.abs(audio)))
    if peak > 0.95:
        audio *= 0.95 / peak
    audio = np.clip(audio, -1, 1).astype(np.float32)
    assert frames.shape == (NUM_FRAMES, H, W, 3) and audio.shape == (NUM_SAMPLES,)
    return dict(frames=frames, audio=audio, sample_rate=SR, fps=FPS, caption=caption,
                kind=kind, events=sorted(float(e) for e in events))


# ----------------------------------------------------------------- output

def write_mp4(path, clip):
    """H.264 (yuv420p, crf 17) + AAC via the ffmpeg CLI; caption and kind go in the metadata."""
    with tempfile.NamedTemporaryFile(suffix=".f32") as tmp:
        tmp.write(clip["audio"].astype("<f4").tobytes())
        tmp.flush()
        h, w = clip["frames"].shape[1:3]
        cmd = ["ffmpeg", "-y", "-loglevel", "error", "-threads", "1",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
               "-r", str(clip["fps"]), "-i", "pipe:0",
               "-f", "f32le", "-ar", str(clip["sample_rate"]), "-ac", "1", "-i", tmp.name,
               "-c:v", "libx264", "-preset", "medium", "-crf", "17", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "96k",
               "-metadata", f"title={clip['caption']}",
               "-metadata", "comment=" + json.dumps({"kind": clip["kind"],
                                                     "events": clip["events"]}),
               path]
        subprocess.run(cmd, input=clip["frames"].tobytes(), check=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kind", choices=KINDS)
    ap.add_argument("--mp4", action="store_true", help="also write clip_XXXXX.mp4")
    ap.add_argument("--append", action="store_true",
                    help="add to the clips already in --out: names continue after them and "
                         "index.json lists all (seeds still start at --seed)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    index, first = [], 0
    index_path = os.path.join(args.out, "index.json")
    if args.append and os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)["clips"]
        first = len(index)
        seeds = {c["seed"] for c in index}
        clash = seeds.intersection(range(args.seed, args.seed + args.count))
        if clash:
            raise SystemExit(f"{index_path}: seeds {min(clash)}..{max(clash)} are already there")
    for i in range(first, first + args.count):
        seed = args.seed + i - first
        clip = make_clip(seed, args.kind)
        name = f"clip_{i:05d}"
        np.savez_compressed(os.path.join(args.out, name + ".npz"),
                            frames=clip["frames"], audio=clip["audio"], sample_rate=SR, fps=FPS,
                            caption=clip["caption"], kind=clip["kind"],
                            events=np.asarray(clip["events"], np.float64))
        if args.mp4:
            write_mp4(os.path.join(args.out, name + ".mp4"), clip)
        index.append(dict(name=name, seed=seed, kind=clip["kind"], caption=clip["caption"],
                          events=clip["events"]))
        print(f"{name} {clip['kind']:5s} {len(clip['events'])} events  {clip['caption']}",
              file=sys.stderr)
    with open(index_path + ".tmp", "w") as f:
        json.dump(dict(fps=FPS, sample_rate=SR, num_frames=NUM_FRAMES,
                       num_samples=NUM_SAMPLES, clips=index), f, indent=1)
    os.replace(index_path + ".tmp", index_path)


if __name__ == "__main__":
    main()
