"""``python -m framewire view URL``: the tutorial's client done right.

An OpenCV window with the newest frame and a status line (rate, latency, throughput, size, drops); ESC or
q quits, as ESC did in the tutorial. ``--json`` prints the same summary as the Node CLI's ``framewire view
--json`` (src/cli/view.ts), field for field. Errors end as one line "framewire: E_CODE: message", exit 1.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from typing import Any, Dict, List, NoReturn, Optional

from .client import UNDECODABLE, Client, connect
from .codecs import load_opencv
from .errors import FramewireError
from .protocol import LIMITS, Status

USAGE_EPILOG = "ESC or q in the window quits; so does Ctrl-C."
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ESC = 27
#: The window's event loop runs at least this often while no frame arrives (source paused, reconnecting).
_GUI_POLL_S = 0.05
_STATUS_BAR_PX = 24


def printable(text: str) -> str:
    """Server-controlled text (STATUS, GOODBYE, a refusal) made safe for a terminal, as in the Node CLI
    (src/client/printable.ts): control characters — ESC starts commands that retitle the window, clear the
    screen or, with OSC 52, write the clipboard — and bidirectional overrides become U+FFFD."""
    return _UNPRINTABLE.sub("\ufffd", text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise FramewireError("E_BAD_PARAMS", f"{message}\n{self.format_usage().strip()}")


def _int_arg(name: str, lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name} must be an integer") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"--{name} must be {lo}..{hi}")
        return v

    return parse


def _positive_float(name: str) -> Any:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name} must be a number") from None
        if not 0 < v < 1e9:
            raise argparse.ArgumentTypeError(f"--{name} must be positive")
        return v

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m framewire", description="Watch a framewire stream.", epilog=USAGE_EPILOG)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    v = sub.add_parser("view", help="watch a stream in an OpenCV window, or summarise it", epilog=USAGE_EPILOG)
    v.add_argument("url", help="tcp://HOST:PORT or tls://HOST:PORT")
    v.add_argument("--width", type=_int_arg("width", 0, LIMITS["width"][1]), default=0, help="0: server default")
    v.add_argument("--height", type=_int_arg("height", 0, LIMITS["height"][1]), default=0)
    v.add_argument("--fps", type=_int_arg("fps", 0, LIMITS["fps"][1]), default=0)
    v.add_argument("--quality", type=_int_arg("quality", 0, LIMITS["quality"][1]), default=0)
    v.add_argument("--frames", type=_int_arg("frames", 1, 2**53), help="stop after N frames")
    v.add_argument("--duration", type=_positive_float("duration"), help="stop after S seconds")
    v.add_argument("--json", action="store_true", help="print one JSON summary on exit")
    v.add_argument("--display", choices=("window", "none"), help="window (default when a display is there) or none")
    v.add_argument("--token", help="authentication token (or FRAMEWIRE_TOKEN)")
    v.add_argument("--tls-fingerprint", help="pin the server certificate's SHA-256 fingerprint (AA:BB:…)")
    v.add_argument("--reconnect", action="store_true", help="reconnect with backoff when the connection drops")
    return p


def summarise(cam: Client, started: float) -> Dict[str, Any]:
    """The Node CLI's ViewSummary: frames, seconds, fps, bytes, latencyMs, dropped, decodeErrors, width, height."""
    s = cam.stats
    seconds = time.monotonic() - started

    def r(x: float) -> float:
        return round(x * 100) / 100

    latency = None
    if s.latency_ms is not None:
        latency = {"p50": r(s.latency_ms.p50), "p95": r(s.latency_ms.p95), "p99": r(s.latency_ms.p99)}
    return {
        "frames": s.frames,
        "seconds": r(seconds),
        "fps": r(s.frames / seconds if seconds > 0 else 0.0),
        "bytes": s.bytes,
        "latencyMs": latency,
        "dropped": s.dropped,
        "decodeErrors": s.decode_errors,
        "width": s.width,
        "height": s.height,
    }


def has_display() -> bool:
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def status_line(cam: Client, width: int, height: int, note: str) -> str:
    s = cam.stats
    lat = f"{s.latency_ms.p50:.1f} ms" if s.latency_ms else "n/a"
    line = f"{s.fps:.1f} fps | latency {lat} | {s.kbps / 8:.0f} KB/s | {width}x{height} | dropped {s.dropped} | ESC quits"
    return f"{line} | {note}" if note else line


class _Window:
    """The newest frame with a status bar under it; one imshow per frame your loop takes."""

    def __init__(self, title: str) -> None:
        cv2 = load_opencv()  # a FramewireError saying what to install when OpenCV is missing
        self.cv2: Any = cv2
        self.title = title
        # GUI_NORMAL: no Qt toolbar; the window is the picture and its status bar.
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def show(self, image: Any, text: str) -> None:
        cv2 = self.cv2
        h, w = image.shape[:2]
        canvas = cv2.copyMakeBorder(image, 0, _STATUS_BAR_PX, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        scale = 0.45
        # Cut the text to the window's width rather than let OpenCV draw past the edge.
        while text and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > w - 8:
            text = text[:-1]
        cv2.putText(canvas, text, (4, h + _STATUS_BAR_PX - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.imshow(self.title, canvas)

    def poll_quit(self) -> bool:
        """Run the window's events; True when ESC or q was pressed or the window was closed."""
        cv2 = self.cv2
        key = cv2.waitKey(1) & 0xFF
        if key in (ESC, ord("q")):
            return True
        try:
            return bool(cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1)
        except cv2.error:
            return True

    def close(self) -> None:
        try:
            self.cv2.destroyWindow(self.title)
            self.cv2.waitKey(1)
        except self.cv2.error:
            pass


def run_view(args: argparse.Namespace) -> int:
    display = args.display or ("window" if has_display() else "none")
    token = args.token if args.token is not None else os.environ.get("FRAMEWIRE_TOKEN")
    note = [""]

    def on_status(raw: str, status: Optional[Status]) -> None:
        text = printable(raw)
        if display == "none" and not args.json:
            print(text, file=sys.stderr, flush=True)
        else:
            note[0] = text

    window = _Window(f"framewire {args.url}") if display == "window" else None
    cam = connect(
        args.url,
        width=args.width,
        height=args.height,
        fps=args.fps,
        quality=args.quality,
        token=token,
        reconnect=args.reconnect,
        tls_fingerprint=args.tls_fingerprint,
        on_status=on_status,
    )
    started = time.monotonic()
    stop_at = None if args.duration is None else started + args.duration
    max_frames = args.frames if args.frames is not None else float("inf")
    previous_term = signal.signal(signal.SIGTERM, lambda *_: cam.close()) if hasattr(signal, "SIGTERM") else None
    try:
        while True:
            if stop_at is not None and time.monotonic() >= stop_at:
                break
            wait = _GUI_POLL_S if window is not None else 0.5
            if stop_at is not None:
                wait = max(0.0, min(wait, stop_at - time.monotonic()))
            try:
                frame = cam.next_frame(timeout=wait)
            except FramewireError as e:
                if e.code != "E_TIMEOUT" or cam.closed:
                    raise
                frame = None
                if window is not None and window.poll_quit():
                    break
                continue
            if frame is None:
                break  # the stream ended normally
            if window is not None:
                try:
                    window.show(frame.image, status_line(cam, frame.width, frame.height, note[0]))
                except FramewireError as e:
                    if e.code not in UNDECODABLE:
                        raise
                if window.poll_quit():
                    break
            if cam.stats.frames >= max_frames:
                break
    except KeyboardInterrupt:
        pass
    finally:
        cam.close()
        if window is not None:
            window.close()
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    summary = summarise(cam, started)
    if args.json:
        print(json.dumps(summary, separators=(",", ":")), flush=True)
    elif display == "none":
        print(f"{summary['frames']} frames in {summary['seconds']} s ({summary['fps']} fps)", file=sys.stderr)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return run_view(args)
    except FramewireError as e:
        print(printable(f"framewire: {e.code}: {e.message}"), file=sys.stderr)
        return 1
