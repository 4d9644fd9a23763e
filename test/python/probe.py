#!/usr/bin/python3
"""Drive the installed `framewire` package against a server the TypeScript test started; report as JSON.

    PYTHON probe.py COMMAND URL [options]

Commands: stream, slow, connect, restart, renegotiate, garbage (see each function). Every wait has a
timeout; the last stdout line is the JSON result. `restart` also prints {"event": "streaming"} once it has
frames, so the test knows when to restart the server under it. A FramewireError becomes
{"error": {"code", "message"}, "elapsed": s} rather than a traceback.
"""
import argparse
import json
import statistics
import sys
import time

import framewire

WAIT_S = 10.0  # the longest any single wait for a frame may take in these probes


def emit(obj):
    print(json.dumps(obj), flush=True)


def stats_dict(cam):
    s = cam.stats
    d = {k: getattr(s, k) for k in ("frames", "bytes", "fps", "dropped", "decode_errors", "reconnects", "width", "height", "rtt_ms", "clock_offset_ms")}
    d["latency_ms"] = None if s.latency_ms is None else {"p50": s.latency_ms.p50, "p95": s.latency_ms.p95, "p99": s.latency_ms.p99}
    return d


def accepted_dict(cam):
    a = cam.accepted
    return {"width": a.width, "height": a.height, "fps": a.fps, "quality": a.quality, "codec": a.codec, "window": a.window, "source": a.source}


def stream(args):
    """The README's snippet: `with connect() as cam: for frame in cam`, decoding every frame."""
    shapes, seqs, latencies, sizes = set(), [], 0, set()
    started = time.monotonic()
    with framewire.connect(args.url, width=args.width, height=args.height, fps=args.fps, token=args.token, idle_timeout=5) as cam:
        ok, image = cam.read(timeout=WAIT_S)  # the OpenCV-style call first
        read_shape = list(image.shape) if ok else None
        for frame in cam:
            shapes.add(tuple(frame.image.shape))
            sizes.add((frame.width, frame.height))
            seqs.append(frame.seq)
            latencies += frame.latency_ms is not None
            if len(seqs) >= args.frames:
                break
            if time.monotonic() - started > args.timeout:
                raise framewire.FramewireError("E_TIMEOUT", f"{len(seqs)} frames in {args.timeout} s")
        elapsed = time.monotonic() - started
        return {
            "frames": len(seqs),
            "elapsed": elapsed,
            "read_shape": read_shape,
            "shapes": sorted(list(s) for s in shapes),
            "sizes": sorted(list(s) for s in sizes),
            "seqs_increasing": all(b > a for a, b in zip(seqs, seqs[1:])),
            "with_latency": latencies,
            "accepted": accepted_dict(cam),
            "stats": stats_dict(cam),
        }


def slow(args):
    """A loop that takes args.sleep s per frame: how old is each frame when the loop gets it?"""
    ages, latencies = [], []
    with framewire.connect(args.url, width=args.width, height=args.height, fps=args.fps, idle_timeout=5) as cam:
        # Warm up until the clock offset is measured (the first frames may precede the first PONG).
        deadline = time.monotonic() + WAIT_S
        while cam.stats.clock_offset_ms is None and time.monotonic() < deadline:
            cam.next_frame(timeout=WAIT_S)
        for _ in range(args.iterations):
            frame = cam.next_frame(timeout=WAIT_S)
            if frame is None:
                break
            ages.append(frame.age_ms)  # measured: now − capture time (clock-offset corrected)
            latencies.append(frame.latency_ms)
            frame.image  # a vision loop decodes what it uses
            time.sleep(args.sleep)
        return {
            "ages_ms": ages,
            "age_p50_ms": statistics.median(ages) if ages else None,
            "age_max_ms": max(ages) if ages else None,
            "latencies_ms": latencies,
            "accepted": accepted_dict(cam),
            "stats": stats_dict(cam),
        }


def connect_once(args):
    """Connect (token, TLS pin as given) and take a few frames."""
    kw = {"token": args.token, "connect_timeout": 5, "idle_timeout": 5}
    if args.tls_fingerprint:
        kw["tls_fingerprint"] = args.tls_fingerprint
    with framewire.connect(args.url, width=args.width, height=args.height, **kw) as cam:
        frames = [cam.next_frame(timeout=WAIT_S) for _ in range(args.frames)]
        return {"frames": sum(f is not None for f in frames), "shape": list(frames[-1].image.shape), "stats": stats_dict(cam)}


def restart(args):
    """Stream with reconnect on; the test restarts the server once we said "streaming"."""
    notes = []
    cam = framewire.connect(
        args.url,
        width=args.width,
        height=args.height,
        reconnect=framewire.Reconnect(initial_delay=0.05, max_delay=0.2),
        idle_timeout=5,
        on_status=lambda text, status: notes.append(text),
    )
    with cam:
        for _ in range(5):
            cam.next_frame(timeout=WAIT_S)
        emit({"event": "streaming", "seq": cam.stats.frames})
        deadline = time.monotonic() + args.timeout
        after = []
        while len(after) < 5:
            if time.monotonic() > deadline:
                raise framewire.FramewireError("E_TIMEOUT", f"no reconnect within {args.timeout} s; notes: {notes}")
            frame = cam.next_frame(timeout=max(0.01, deadline - time.monotonic()))
            if frame is None:
                break
            if cam.stats.reconnects >= 1:
                after.append(frame.seq)
        return {"after": after, "notes": notes, "stats": stats_dict(cam)}


def renegotiate(args):
    """320x180, then renegotiate to 640x360 on the same connection."""
    with framewire.connect(args.url, width=320, height=180, idle_timeout=5) as cam:
        before = [(f.width, f.height) for f in (cam.next_frame(timeout=WAIT_S) for _ in range(3)) if f]
        granted = cam.renegotiate(width=640, height=360, timeout=5)
        deadline = time.monotonic() + WAIT_S
        after = None
        while time.monotonic() < deadline:
            f = cam.next_frame(timeout=WAIT_S)
            if f is not None and (f.width, f.height) == (640, 360):
                after = list(f.image.shape)
                break
        return {"before": before, "granted": [granted.width, granted.height], "after_shape": after, "accepted": accepted_dict(cam), "stats": stats_dict(cam)}


def garbage(args):
    """Connect to a fake server and read until something fails: in which phase, with which code, how fast."""
    phase = "connect"
    try:
        cam = framewire.connect(args.url, connect_timeout=args.connect_timeout, idle_timeout=args.idle_timeout)
        phase = "stream"
        with cam:
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                if cam.next_frame(timeout=WAIT_S) is None:
                    return {"phase": phase, "ended": "normally"}
            return {"phase": phase, "ended": "never"}
    except framewire.FramewireError as e:
        return {"phase": phase, "error": {"code": e.code, "message": e.message}}


COMMANDS = {"stream": stream, "slow": slow, "connect": connect_once, "restart": restart, "renegotiate": renegotiate, "garbage": garbage}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("url")
    p.add_argument("--width", type=int, default=0)
    p.add_argument("--height", type=int, default=0)
    p.add_argument("--fps", type=int, default=0)
    p.add_argument("--frames", type=int, default=3)
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--sleep", type=float, default=0.2)
    p.add_argument("--token")
    p.add_argument("--tls-fingerprint")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--connect-timeout", type=float, default=1.0)
    p.add_argument("--idle-timeout", type=float, default=1.0)
    args = p.parse_args()
    started = time.monotonic()
    try:
        result = COMMANDS[args.command](args)
    except framewire.FramewireError as e:
        result = {"error": {"code": e.code, "message": e.message}}
    result["elapsed_total"] = time.monotonic() - started
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
