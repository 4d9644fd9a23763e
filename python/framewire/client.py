"""connect(url) → a Client you iterate for the newest frame, however slow your loop.

One background thread per client owns the socket: it acknowledges every FRAME the moment it has arrived
(so the server's window, docs/protocol.md §4.2, keeps what is in flight to a frame or two), answers pings,
measures the clock offset, reconnects with backoff, and keeps only the newest frame for your code. A loop
slower than the stream therefore never builds a backlog: frames it had no time for are replaced, counted in
``stats.dropped``, and the frame it gets next is at most about one frame interval old.

All socket I/O happens on that thread (an SSL socket must not be read and written from two threads at
once); your thread hands it RENEGOTIATE and GOODBYE through an outbox and a wake-up socket pair.
"""
from __future__ import annotations

import hashlib
import logging
import random
import select
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, Iterator, List, Optional, Tuple, Union

from .clock import ClockOffset, offset_sample
from .codecs import Image, decodable_codecs, decode_image
from .errors import FramewireError, as_framewire_error
from .protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    PROTOCOL_CODECS,
    Accept,
    Ack,
    ErrorMessage,
    FrameMessage,
    Goodbye,
    Hello,
    Message,
    MessageDecoder,
    Ping,
    Pong,
    Reject,
    Renegotiate,
    Status,
    encode_message,
)
from .stats import Stats, StatsWindow
from .url import StreamUrl, parse_stream_url

log = logging.getLogger("framewire")

DEFAULT_CONNECT_TIMEOUT_S = 10.0
#: A server that sends nothing (no frame, no ping) for this long is gone; a framewire server pings every 10 s.
DEFAULT_IDLE_TIMEOUT_S = 30.0
DEFAULT_RENEGOTIATE_TIMEOUT_S = 5.0
#: Once select() says the socket is ready, one read or write may still wait this long (a TLS record that
#: never completes, a server that stopped reading our ACKs); past it the connection counts as lost.
IO_TIMEOUT_S = 2.0
#: The I/O thread wakes at least this often, to send pings and check the idle timeout.
_MAX_WAIT_S = 0.5
_RECV_BYTES = 256 * 1024
#: A quick burst of pings for a first clock-offset estimate, then one a second to follow drift (§4.4).
_PING_BURST = 5
_PING_BURST_INTERVAL_S = 0.05
_PING_INTERVAL_S = 1.0
_PINGS_REMEMBERED = 32
#: How long close() waits for the I/O thread to say goodbye and finish.
_CLOSE_WAIT_S = 2.0

#: Refusals that reconnecting cannot fix (the same set as the Node client).
FATAL_CODES = frozenset({"E_AUTH", "E_VERSION", "E_BAD_PARAMS", "E_TLS", "E_UNSUPPORTED", "E_BAD_MAGIC"})

#: Frame.image failures that mean "this frame's bytes", as opposed to "no decoder here" (E_UNSUPPORTED).
UNDECODABLE = frozenset({"E_MALFORMED", "E_TOO_LARGE"})

StatusCallback = Callable[[str, Optional[Status]], None]


@dataclass(frozen=True)
class Reconnect:
    """Reconnect with exponential backoff (± 20 % jitter) after a lost connection; never after close() or a refusal."""

    initial_delay: float = 0.25
    max_delay: float = 5.0
    #: Give up after this many consecutive failed attempts (None: never).
    max_attempts: Optional[int] = None


@dataclass(frozen=True)
class Params:
    """Stream parameters; 0 means "server default" in a request."""

    width: int
    height: int
    fps: int
    quality: int


@dataclass(frozen=True)
class Accepted:
    """What the server granted (§3.2): read it rather than assume the request was honoured."""

    width: int
    height: int
    fps: int
    quality: int
    codec: int
    window: int
    source: str


class Frame:
    """One received picture. ``image`` is decoded on first use, so frames your loop skips cost no decode."""

    __slots__ = (
        "seq",
        "capture_us",
        "capture_time",
        "received_time",
        "latency_ms",
        "width",
        "height",
        "codec",
        "jpeg",
        "_image",
        "_on_decode_error",
    )

    def __init__(
        self,
        seq: int,
        capture_us: int,
        capture_time: float,
        received_time: float,
        latency_ms: Optional[float],
        width: int,
        height: int,
        codec: int,
        jpeg: bytes,
        on_decode_error: Optional[Callable[[], None]] = None,
    ) -> None:
        #: The server's frame sequence number (increasing, with gaps where frames were skipped).
        self.seq = seq
        #: Capture time on the server's clock, µs since the Unix epoch, as sent.
        self.capture_us = capture_us
        #: Capture time on this machine's clock (``time.time()`` scale), corrected by the measured clock offset.
        self.capture_time = capture_time
        #: When the whole frame had arrived, ``time.time()`` scale.
        self.received_time = received_time
        #: Capture-to-receive latency (clock-offset corrected); None until the first clock sample.
        self.latency_ms = latency_ms
        self.width = width
        self.height = height
        self.codec = codec
        #: The encoded picture as received (one complete JPEG file for codec 1).
        self.jpeg = jpeg
        self._image: Optional[Image] = None
        self._on_decode_error = on_decode_error

    @property
    def image(self) -> Image:
        """The picture as a numpy array, shape (height, width, 3), BGR, uint8. Raises FramewireError if undecodable."""
        if self._image is None:
            try:
                self._image = decode_image(self.codec, self.jpeg)
            except FramewireError as e:
                if e.code in UNDECODABLE and self._on_decode_error is not None:
                    self._on_decode_error()
                    self._on_decode_error = None
                raise
        return self._image

    @property
    def age_ms(self) -> float:
        """How old the picture is now: this machine's clock minus the (offset-corrected) capture time."""
        return (time.time() - self.capture_time) * 1000

    @property
    def codec_name(self) -> str:
        return PROTOCOL_CODECS.get(self.codec, str(self.codec))

    def __repr__(self) -> str:
        lat = "?" if self.latency_ms is None else f"{self.latency_ms:.1f} ms"
        return f"<Frame seq={self.seq} {self.width}x{self.height} {len(self.jpeg)} bytes latency={lat}>"


def _now_us() -> int:
    return time.time_ns() // 1000


def normalise_fingerprint(f: str) -> str:
    return "".join(c for c in f.upper() if c in "0123456789ABCDEF")


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as "AA:BB:…" (what ``framewire serve`` prints and ``view`` pins)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _check_param(name: str, value: int, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise FramewireError("E_BAD_PARAMS", f"{name} must be an integer 0..{limit} (0 = server default), not {value!r}")
    return value


def _params(width: int, height: int, fps: int, quality: int) -> Params:
    return Params(
        _check_param("width", width, 0xFFFF),
        _check_param("height", height, 0xFFFF),
        _check_param("fps", fps, 0xFFFF),
        _check_param("quality", quality, 0xFF),
    )


def _open_socket(url: StreamUrl, timeout: float, fingerprint: Optional[str], cafile: Optional[str]) -> socket.socket:
    where = f"{url.host}:{url.port}"
    try:
        raw = socket.create_connection((url.host, url.port), timeout=timeout)
    except socket.timeout:
        raise FramewireError("E_CONNECT", f"could not connect to {where} within {timeout} s") from None
    except OSError as e:
        raise FramewireError("E_CONNECT", f"could not connect to {where}: {e.strerror or e}") from None
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if url.scheme != "tls":
        return raw
    ctx = ssl.create_default_context(cafile=cafile)
    if fingerprint:
        # The pin replaces chain and name checks: a self-signed certificate is the usual case here.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        sock = ctx.wrap_socket(raw, server_hostname=url.host)
    except (ssl.SSLError, ssl.CertificateError) as e:
        raw.close()
        raise FramewireError("E_TLS", f"TLS with {where} failed: {e}") from None
    except socket.timeout:
        raw.close()
        raise FramewireError("E_CONNECT", f"TLS handshake with {where} did not complete within {timeout} s") from None
    except OSError as e:
        raw.close()
        raise FramewireError("E_TLS", f"TLS with {where} failed: {e.strerror or e}") from None
    if fingerprint:
        der = sock.getpeercert(binary_form=True) or b""
        got = certificate_fingerprint(der)
        if normalise_fingerprint(got) != normalise_fingerprint(fingerprint):
            sock.close()
            raise FramewireError("E_TLS", f"server certificate fingerprint {got} does not match the pinned {fingerprint}")
    return sock


class _Connection:
    """A socket after a successful handshake, with what arrived behind the ACCEPT."""

    def __init__(
        self,
        sock: socket.socket,
        decoder: MessageDecoder,
        accept: Accept,
        leftover: List[Message],
        leftover_error: Optional[FramewireError],
    ) -> None:
        self.sock = sock
        self.decoder = decoder
        self.accept = accept
        self.leftover = leftover
        self.leftover_error = leftover_error


class _RenegotiateWaiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.accept: Optional[Accept] = None
        self.error: Optional[FramewireError] = None


class _ClosedByUser:
    pass


_CLOSED_BY_USER = _ClosedByUser()
#: Why a connection ended: a normal goodbye (None), an error, or our own close().
_Ending = Union[None, FramewireError, _ClosedByUser]


class Client:
    """A framewire/1 stream. Use ``connect()``; iterate it, or call ``read()`` like ``cv2.VideoCapture``."""

    def __init__(
        self,
        url: str,
        *,
        width: int = 0,
        height: int = 0,
        fps: int = 0,
        quality: int = 0,
        token: Optional[str] = None,
        reconnect: Union[bool, Reconnect] = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        tls_fingerprint: Optional[str] = None,
        tls_ca: Optional[str] = None,
        on_status: Optional[StatusCallback] = None,
    ) -> None:
        self.url = parse_stream_url(url)
        self._params = _params(width, height, fps, quality)
        self._token = token or ""
        encode_message(Hello(token=self._token))  # a token over 256 bytes fails here, before any connection
        if tls_fingerprint is not None and len(normalise_fingerprint(tls_fingerprint)) != 64:
            raise FramewireError("E_BAD_PARAMS", f"a SHA-256 fingerprint has 32 bytes (AA:BB:…), not {tls_fingerprint!r}")
        if connect_timeout <= 0 or idle_timeout <= 0:
            raise FramewireError("E_BAD_PARAMS", "timeouts must be positive")
        if max_message_bytes < 1024:
            raise FramewireError("E_BAD_PARAMS", "max_message_bytes must be at least 1024")
        self._reconnect: Optional[Reconnect] = Reconnect() if reconnect is True else (reconnect or None)
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout
        self._max_message_bytes = max_message_bytes
        self._tls_fingerprint = tls_fingerprint
        self._tls_ca = tls_ca
        self._on_status = on_status

        # Shared between your thread and the I/O thread; everything below is guarded by _cond's lock.
        self._cond = threading.Condition()
        self._slot: Optional[Frame] = None
        self._ended = False
        self._error: Optional[FramewireError] = None
        self._stats = StatsWindow()
        self._dropped = 0
        self._decode_errors = 0
        self._reconnects = 0
        self._granted: Optional[Accept] = None
        self._connected = False
        self._outbox: Deque[Message] = deque()
        self._waiter: Optional[_RenegotiateWaiter] = None
        self._clock = ClockOffset()

        self._closing = threading.Event()
        self._closed = False
        self._renegotiate_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sock: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        self._ping_id = 0
        self._pings_sent: Dict[int, int] = {}

    # ── public API ──────────────────────────────────────────────────────────────────────────────────

    def open(self) -> "Client":
        """Connect and complete the handshake (connect() calls this); raises FramewireError on failure."""
        if self._thread is not None:
            return self
        # Import the decoder now: importing OpenCV later, on the first frame.image, would hold the GIL for
        # a quarter of a second while the I/O thread has frames to acknowledge.
        decodable_codecs()
        try:
            conn = self._dial()
        except BaseException:
            self._release_wake()
            raise
        self._thread = threading.Thread(target=self._run, args=(conn,), name="framewire-io", daemon=True)
        self._thread.start()
        return self

    @property
    def accepted(self) -> Accepted:
        """The granted parameters (updated by renegotiate())."""
        with self._cond:
            g = self._granted
        if g is None:
            raise FramewireError("E_CLOSED", "not connected")
        return Accepted(g.width, g.height, g.fps, g.quality, g.codec, g.window, g.source)

    @property
    def stats(self) -> Stats:
        with self._cond:
            seconds, fps, kbps, latency = self._stats.summary()
            best = self._clock.best
            g = self._granted
            return Stats(
                frames=self._stats.frames,
                bytes=self._stats.bytes,
                seconds=seconds,
                fps=fps,
                kbps=kbps,
                latency_ms=latency,
                rtt_ms=best.rtt_us / 1000 if best else None,
                clock_offset_ms=best.offset_us / 1000 if best else None,
                dropped=self._dropped,
                decode_errors=self._decode_errors,
                reconnects=self._reconnects,
                width=g.width if g else self._params.width,
                height=g.height if g else self._params.height,
            )

    @property
    def closed(self) -> bool:
        """True once the stream has ended (close(), a goodbye, or an error without reconnect)."""
        with self._cond:
            return self._ended

    @property
    def error(self) -> Optional[FramewireError]:
        """Why the stream ended, when it ended on an error."""
        with self._cond:
            return self._error

    def next_frame(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """The newest frame not yet returned; waits for one up to ``timeout`` seconds (None: no limit).

        Returns None when the stream has ended normally (close(), or the server's goodbye without
        reconnect); raises FramewireError when it ended on an error, and E_TIMEOUT when no frame came in time.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                f = self._slot
                if f is not None:
                    self._slot = None
                    return f
                if self._ended:
                    if self._error is not None:
                        raise self._error
                    return None
                wait = _MAX_WAIT_S
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        raise FramewireError("E_TIMEOUT", f"no frame within {timeout} s")
                self._cond.wait(wait)

    def read(self, timeout: Optional[float] = None) -> Tuple[bool, Optional[Image]]:
        """Like ``cv2.VideoCapture.read()``: ``(True, image)`` for the newest frame, ``(False, None)`` at the end.

        A frame that does not decode is skipped (counted in stats.decode_errors). Errors raise FramewireError.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            f = self.next_frame(remaining)
            if f is None:
                return False, None
            try:
                return True, f.image
            except FramewireError as e:
                if e.code not in UNDECODABLE:
                    raise

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        f = self.next_frame()
        if f is None:
            raise StopIteration
        return f

    def renegotiate(
        self,
        width: Optional[int] = None,
        height: Optional[int] = None,
        fps: Optional[int] = None,
        quality: Optional[int] = None,
        timeout: float = DEFAULT_RENEGOTIATE_TIMEOUT_S,
    ) -> Params:
        """Change size, rate or quality mid-stream (§4.3); returns what the server granted.

        Frames already in flight may still have the old size: use each frame's own width and height.
        The new request also applies to later reconnects.
        """
        with self._renegotiate_lock:
            p = self._params
            self._params = _params(
                p.width if width is None else width,
                p.height if height is None else height,
                p.fps if fps is None else fps,
                p.quality if quality is None else quality,
            )
            waiter = _RenegotiateWaiter()
            with self._cond:
                if not self._connected:
                    raise FramewireError("E_CLOSED", "not connected")
                self._waiter = waiter
                self._outbox.append(Renegotiate(*self._request()))
            self._wake()
            try:
                if not waiter.done.wait(timeout):
                    raise FramewireError("E_TIMEOUT", f"no answer to renegotiate within {timeout} s")
            finally:
                with self._cond:
                    if self._waiter is waiter:
                        self._waiter = None
            if waiter.error is not None:
                raise waiter.error
            a = waiter.accept
            assert a is not None
            return Params(a.width, a.height, a.fps, a.quality)

    def close(self) -> None:
        """Say goodbye and end the stream; iteration then stops normally. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._wake()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(_CLOSE_WAIT_S)
            if t.is_alive():
                # Stuck in a read or a dial: closing the socket under it ends the wait.
                sock = self._sock
                if sock is not None:
                    _close_quietly(sock)
                t.join(_CLOSE_WAIT_S)
        self._finish(None)
        if t is None or not t.is_alive():
            self._release_wake()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<framewire.Client {self.url.scheme}://{self.url.host}:{self.url.port}>"

    # ── connection ──────────────────────────────────────────────────────────────────────────────────

    def _request(self) -> Tuple[int, int, int, int]:
        p = self._params
        return p.width, p.height, p.fps, p.quality

    def _dial(self) -> _Connection:
        """Open a socket, send HELLO, wait for ACCEPT; everything within connect_timeout."""
        deadline = time.monotonic() + self._connect_timeout
        sock = _open_socket(self.url, self._connect_timeout, self._tls_fingerprint, self._tls_ca)
        self._sock = sock
        try:
            sock.settimeout(IO_TIMEOUT_S)
            w, h, fps, q = self._request()
            # framewire/1's HELLO has no codec field: asking is implicitly for JPEG (see framewire.codecs).
            sock.sendall(encode_message(Hello(w, h, fps, q, self._token)))
            decoder = MessageDecoder(self._max_message_bytes)
            buf = bytearray(_RECV_BYTES)
            with memoryview(buf) as view:
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise FramewireError(
                            "E_TIMEOUT", f"no answer to hello from {self.url.host}:{self.url.port} within {self._connect_timeout} s"
                        )
                    sock.settimeout(remaining)
                    try:
                        n = sock.recv_into(buf)
                    except socket.timeout:
                        continue
                    except OSError as e:
                        raise FramewireError("E_CONNECT", f"connection failed during the handshake: {e}") from None
                    if n == 0:
                        raise FramewireError("E_CONNECT", "server closed the connection during the handshake")
                    messages, error = decoder.push(view[:n])
                    for i, m in enumerate(messages):
                        if isinstance(m, Accept):
                            sock.settimeout(IO_TIMEOUT_S)
                            return _Connection(sock, decoder, m, messages[i + 1 :], error)
                        if isinstance(m, (Reject, ErrorMessage)):
                            raise FramewireError(m.code, f"server refused: {m.text}")
                        raise FramewireError("E_UNEXPECTED", f"expected accept, got {m.type}")
                    if error is not None:
                        raise error
        except socket.timeout:
            _close_quietly(sock)
            raise FramewireError("E_TIMEOUT", "the server stopped reading during the handshake") from None
        except BaseException:
            _close_quietly(sock)
            raise

    def _run(self, conn: _Connection) -> None:
        """The I/O thread: serve the connection, reconnect when asked to, finish the stream."""
        try:
            while True:
                ending = self._serve(conn)
                self._drop(conn)
                if isinstance(ending, _ClosedByUser) or self._closing.is_set():
                    return self._finish(None)
                if self._reconnect is None or (ending is not None and ending.code in FATAL_CODES):
                    return self._finish(ending)
                why = f" ({ending})" if ending is not None else ""
                self._status(f"connection lost{why}; reconnecting", None)
                next_conn = self._redial(self._reconnect)
                if next_conn is None:
                    return self._finish(None)
                conn = next_conn
                with self._cond:
                    self._reconnects += 1
                self._status("reconnected", None)
        except FramewireError as e:
            self._finish(e)
        except BaseException as e:  # a bug here must end the stream loudly, not hang your loop
            log.exception("framewire I/O thread failed")
            self._finish(as_framewire_error(e))
        finally:
            if self._closing.is_set():
                self._release_wake()

    def _redial(self, r: Reconnect) -> Optional[_Connection]:
        delay = r.initial_delay
        attempt = 0
        while True:
            attempt += 1
            if self._closing.wait(delay * random.uniform(0.8, 1.2)):
                return None
            try:
                return self._dial()
            except FramewireError as e:
                if e.code in FATAL_CODES or (r.max_attempts is not None and attempt >= r.max_attempts):
                    raise
                delay = min(r.max_delay, delay * 2)

    def _serve(self, conn: _Connection) -> _Ending:
        sock = conn.sock
        with self._cond:
            self._granted = conn.accept
            self._connected = True
        pings_left = _PING_BURST
        next_ping = time.monotonic()
        last_heard = time.monotonic()
        buf = bytearray(_RECV_BYTES)
        view = memoryview(buf)
        try:
            # What arrived behind the ACCEPT, then whatever each read brings.
            ending = self._consume(sock, conn.leftover, conn.leftover_error)
            while isinstance(ending, _Continue):
                if self._closing.is_set():
                    self._say_goodbye(sock)
                    return _CLOSED_BY_USER
                self._flush_outbox(sock)
                now = time.monotonic()
                if now >= next_ping:
                    self._ping(sock)
                    pings_left -= 1
                    next_ping = now + (_PING_BURST_INTERVAL_S if pings_left > 0 else _PING_INTERVAL_S)
                silent = now - last_heard
                if silent > self._idle_timeout:
                    where = f"{self.url.host}:{self.url.port}"
                    return FramewireError("E_TIMEOUT", f"nothing heard from {where} for {self._idle_timeout} s")
                wait = max(0.0, min(_MAX_WAIT_S, next_ping - now, self._idle_timeout - silent))
                pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
                if not pending:
                    readable, _, _ = select.select([sock, self._wake_r], [], [], wait)
                    if self._wake_r in readable:
                        self._drain_wake()
                    if sock not in readable:
                        continue
                try:
                    n = sock.recv_into(buf)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                if n == 0:
                    return FramewireError("E_CLOSED", "connection closed by the server")
                last_heard = time.monotonic()
                ending = self._consume(sock, *conn.decoder.push(view[:n]))
            return ending
        except socket.timeout:
            return FramewireError("E_TIMEOUT", f"the server stopped reading for {IO_TIMEOUT_S} s")
        except OSError as e:
            return FramewireError("E_CLOSED", f"connection failed: {e}")
        finally:
            view.release()

    def _consume(self, sock: socket.socket, messages: List[Message], error: Optional[FramewireError]) -> Union[_Ending, "_Continue"]:
        for m in messages:
            ending = self._handle(sock, m)
            if not isinstance(ending, _Continue):
                return ending
        return _CONTINUE if error is None else self._fail(sock, error)

    def _handle(self, sock: socket.socket, m: Message) -> Union[_Ending, "_Continue"]:
        if isinstance(m, FrameMessage):
            # Acknowledge on arrival, not after your code has used it: the window then bounds only the
            # network, and the newest frame is always here when your loop asks (§4.2).
            self._send(sock, Ack(m.seq))
            received_us = _now_us()
            with self._cond:
                best = self._clock.best
                offset = best.offset_us if best else 0.0
                latency = (received_us + offset - m.capture_us) / 1000 if best else None
                frame = Frame(
                    m.seq,
                    m.capture_us,
                    (m.capture_us - offset) / 1e6,
                    received_us / 1e6,
                    latency,
                    m.width,
                    m.height,
                    m.codec,
                    m.payload,
                    self._count_decode_error,
                )
                if not _looks_like_jpeg(m.payload):
                    self._decode_errors += 1
                self._stats.record(len(m.payload), latency)
                if self._slot is not None:
                    self._dropped += 1
                self._slot = frame
                self._cond.notify_all()
            return _CONTINUE
        if isinstance(m, Ping):
            now = _now_us()
            self._send(sock, Pong(m.id, m.t1, now, now))
            return _CONTINUE
        if isinstance(m, Pong):
            t4 = _now_us()
            if self._pings_sent.pop(m.id, None) != m.t1:
                return _CONTINUE  # §4.4: not an answer to one of our pings
            with self._cond:
                self._clock.add(offset_sample(m.t1, m.t2, m.t3, t4))
            return _CONTINUE
        if isinstance(m, Accept):
            with self._cond:
                self._granted = m
                waiter, self._waiter = self._waiter, None
            if waiter is not None:
                waiter.accept = m
                waiter.done.set()
            return _CONTINUE
        if isinstance(m, Status):
            self._status(m.text, m)
            return _CONTINUE
        if isinstance(m, Goodbye):
            self._status(f"server said goodbye: {m.text}", None)
            # A server shutting down says E_SHUTDOWN (§4.5): a normal end, like GOODBYE 0.
            return None if m.code in ("OK", "E_SHUTDOWN") else FramewireError(m.code, m.text)
        if isinstance(m, ErrorMessage):
            return FramewireError(m.code, f"server error: {m.text}")
        return self._fail(sock, FramewireError("E_UNEXPECTED", f"server sent {m.type} while streaming"))

    def _fail(self, sock: socket.socket, error: FramewireError) -> FramewireError:
        """§4.5: tell the server why (best effort) before the connection is closed."""
        try:
            self._send(sock, ErrorMessage(error.code, error.message))
        except OSError:
            pass
        return error

    def _send(self, sock: socket.socket, m: Message) -> None:
        sock.sendall(encode_message(m))

    def _ping(self, sock: socket.socket) -> None:
        self._ping_id = (self._ping_id + 1) & 0xFFFFFFFF
        t1 = _now_us()
        self._pings_sent[self._ping_id] = t1
        while len(self._pings_sent) > _PINGS_REMEMBERED:
            del self._pings_sent[next(iter(self._pings_sent))]
        self._send(sock, Ping(self._ping_id, t1))

    def _flush_outbox(self, sock: socket.socket) -> None:
        while True:
            with self._cond:
                if not self._outbox:
                    return
                m = self._outbox.popleft()
            self._send(sock, m)

    def _say_goodbye(self, sock: socket.socket) -> None:
        """GOODBYE 0, then read until the server closes (closing with unread data would reset the connection)."""
        try:
            self._send(sock, Goodbye("OK", "client closing"))
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not sock.recv(65536):
                    return
        except OSError:
            pass

    def _drop(self, conn: _Connection) -> None:
        _close_quietly(conn.sock)
        with self._cond:
            self._connected = False
            self._outbox.clear()
            waiter, self._waiter = self._waiter, None
        self._pings_sent.clear()
        if waiter is not None:
            waiter.error = FramewireError("E_CLOSED", "the connection closed before the server answered")
            waiter.done.set()

    def _finish(self, error: Optional[FramewireError]) -> None:
        with self._cond:
            if self._ended:
                return
            self._ended = True
            self._connected = False
            if error is not None and not self._closing.is_set():
                self._error = error
            self._cond.notify_all()
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.error = error or FramewireError("E_CLOSED", "the stream has ended")
            waiter.done.set()

    def _status(self, text: str, status: Optional[Status]) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(text, status)
        except Exception:  # your callback's bug must not kill the stream
            log.exception("framewire on_status callback failed")

    def _count_decode_error(self) -> None:
        with self._cond:
            self._decode_errors += 1

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # already pending (buffer full) or released: the I/O thread wakes either way

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _release_wake(self) -> None:
        _close_quietly(self._wake_r)
        _close_quietly(self._wake_w)


class _Continue:
    pass


_CONTINUE = _Continue()


def _looks_like_jpeg(b: bytes) -> bool:
    return len(b) >= 4 and b[0] == 0xFF and b[1] == 0xD8 and b[-2] == 0xFF and b[-1] == 0xD9


def _close_quietly(s: socket.socket) -> None:
    try:
        s.close()
    except OSError:
        pass


def connect(
    url: str,
    *,
    width: int = 0,
    height: int = 0,
    fps: int = 0,
    quality: int = 0,
    token: Optional[str] = None,
    reconnect: Union[bool, Reconnect] = False,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    tls_fingerprint: Optional[str] = None,
    tls_ca: Optional[str] = None,
    on_status: Optional[StatusCallback] = None,
) -> Client:
    """Connect to a framewire server (``tcp://HOST:PORT`` or ``tls://HOST:PORT``) and complete the handshake.

    width, height, fps, quality: what to ask for (0: the server's default); the server clamps and grants,
    see ``client.accepted``. token: the server's shared secret. reconnect: True or Reconnect(...) to ride
    out lost connections. tls_fingerprint: pin the server certificate's SHA-256 ("AA:BB:…", as ``framewire
    serve`` prints it) instead of verifying a chain; tls_ca: a CA file to verify against otherwise.
    Raises FramewireError (E_CONNECT, E_AUTH, E_TLS, E_TIMEOUT, …).
    """
    client = Client(
        url,
        width=width,
        height=height,
        fps=fps,
        quality=quality,
        token=token,
        reconnect=reconnect,
        connect_timeout=connect_timeout,
        idle_timeout=idle_timeout,
        max_message_bytes=max_message_bytes,
        tls_fingerprint=tls_fingerprint,
        tls_ca=tls_ca,
        on_status=on_status,
    )
    return client.open()
