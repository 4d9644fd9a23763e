#!/usr/bin/python3
"""A vision loop on one stream, measured: how fresh is the picture it works on, and what does a frame cost?

    /usr/bin/python3 bench/python/vision_loop.py --client framewire|videocapture --url URL
        [--seconds S] [--work-ms W] [--width W --height H --fps F]

framewire: ``framewire.connect(url)`` (tcp://), ``frame.image`` for each frame the loop takes.
videocapture: ``cv2.VideoCapture(url)`` on the server's /stream.mjpg (http://), ``read()``.
``--work-ms`` stands for the detector: the loop sleeps that long per frame.

Frame age is read off the picture itself, the same way for both clients: the test pattern burns the UTC
time it started drawing the frame into its bottom-left corner (src/sources/testpattern.ts, 5×7 font); that
clock is read back from the decoded pixels and subtracted from this machine's clock (same machine as the
server, so one clock). Age is taken when the decoded image is in the loop's hands. One JSON line on stdout.
"""
import argparse
import json
import resource
import sys
import time

import cv2
import numpy as np

# The glyphs the clock uses, 7 rows of 5 bits (src/sources/font5x7.ts).
GLYPHS = {
    "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
    "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
    "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
    "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
    "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
    "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
    "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
    "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
    "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
    "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
    ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
    ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
}
BITS = {ch: np.array([[(row >> (4 - c)) & 1 for c in range(5)] for row in rows], dtype=bool) for ch, rows in GLYPHS.items()}
DAY_MS = 86_400_000


def burned_clock_ms(image):
    """UTC time of day (ms) burned into a test-pattern frame, or None when it cannot be read."""
    h = image.shape[0]
    scale = max(1, h // 120)
    line_h = 9 * scale
    x0 = 2 * scale + 2 * scale
    y0 = h - 2 * line_h - 3 * scale + scale + line_h  # the second text line: HH:MM:SS.mmm
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    half = scale // 2
    text = ""
    for i in range(12):
        gx = x0 + i * 6 * scale
        cell = gray[y0 + half : y0 + 7 * scale : scale, gx + half : gx + 5 * scale : scale][:7, :5] > 128
        if cell.shape != (7, 5):
            return None
        best = min(BITS, key=lambda ch: int(np.count_nonzero(BITS[ch] != cell)))
        if np.count_nonzero(BITS[best] != cell) > 2:
            return None
        text += best
    try:
        hh, mm, rest = text.split(":")
        ss, ms = rest.split(".")
        return ((int(hh) * 60 + int(mm)) * 60 + int(ss)) * 1000 + int(ms)
    except ValueError:
        return None


def age_ms(image):
    clock = burned_clock_ms(image)
    if clock is None:
        return None
    age = (time.time() * 1000) % DAY_MS - clock
    if age < -DAY_MS / 2:  # across midnight
        age += DAY_MS
    return age


def pct(sorted_values, p):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, -(-p * len(sorted_values) // 100) - 1))
    return sorted_values[i]


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process, decoder threads included
    return r.ru_utime + r.ru_stime


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--client", choices=("framewire", "videocapture"), required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--work-ms", type=float, default=0)
    p.add_argument("--width", type=int, default=0)
    p.add_argument("--height", type=int, default=0)
    p.add_argument("--fps", type=int, default=0)
    args = p.parse_args()

    if args.client == "framewire":
        import framewire

        cam = framewire.connect(args.url, width=args.width, height=args.height, fps=args.fps, idle_timeout=10)

        def grab():
            f = cam.next_frame(timeout=10)
            return None if f is None else f.image

        def close():
            cam.close()

    else:
        cap = cv2.VideoCapture(args.url, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            print(json.dumps({"error": f"VideoCapture could not open {args.url}"}))
            return 1

        def grab():
            ok, image = cap.read()
            return image if ok else None

        def close():
            cap.release()

    if grab() is None:  # connected and streaming; measure from here
        print(json.dumps({"error": "no first frame"}))
        return 1
    samples = []  # (seconds since start, age ms or None)
    start = time.monotonic()
    cpu0 = cpu_s()
    while time.monotonic() - start < args.seconds:
        image = grab()
        if image is None:
            break
        samples.append((time.monotonic() - start, age_ms(image)))
        if args.work_ms > 0:
            time.sleep(args.work_ms / 1000)
    wall = time.monotonic() - start
    cpu = cpu_s() - cpu0
    out = {"client": args.client, "frames": len(samples), "seconds": wall, "fps": len(samples) / wall if wall > 0 else 0}
    if args.client == "framewire":
        s = cam.stats
        out["latency_ms"] = None if s.latency_ms is None else {"p50": s.latency_ms.p50, "p99": s.latency_ms.p99}
        out["dropped"] = s.dropped
        out["received"] = s.frames
    close()
    ages = sorted(a for _, a in samples if a is not None)
    window = min(2.0, wall / 3)
    first = [a for t, a in samples if a is not None and t < window]
    last = [a for t, a in samples if a is not None and t > wall - window]
    out.update(
        {
            "unreadable": sum(a is None for _, a in samples),
            "age_p50_ms": pct(ages, 50),
            "age_p99_ms": pct(ages, 99),
            "age_max_ms": ages[-1] if ages else None,
            "age_first_ms": sum(first) / len(first) if first else None,
            "age_last_ms": sum(last) / len(last) if last else None,
            "cpu_ms_per_frame": 1000 * cpu / len(samples) if samples else None,
            "cpu_pct": 100 * cpu / wall if wall > 0 else None,
        }
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
