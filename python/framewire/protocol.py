"""framewire/1 messages, encoder and incremental decoder (docs/protocol.md §2, §3) — pure, no I/O.

Every multi-byte integer is big-endian. The decoder is a byte-level state machine: feed it chunks of any
size and it yields the same messages; an envelope is checked (§2.2) before any of its body is buffered, so a
peer cannot make it hold more than ``max_message_bytes``. It mirrors src/protocol/decoder.ts and is tested
against the same vectors (test/vectors/).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import ClassVar, Dict, List, Optional, Tuple, Union

from .errors import ERROR_CODES, FramewireError, code_from_number

PROTOCOL_VERSION = 1
MAGIC = b"FWIR"
ENVELOPE_SIZE = 8
HELLO_FIXED_SIZE = 16
ACCEPT_FIXED_SIZE = 24
FRAME_FIELDS_SIZE = 24
#: Default cap on one message body (§5.2): a 4K JPEG at quality 100 is well under this.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_TEXT_BYTES = 1024
MAX_TOKEN_BYTES = 256

HELLO = 0x01
ACCEPT = 0x02
REJECT = 0x03
FRAME = 0x10
ACK = 0x11
PING = 0x20
PONG = 0x21
RENEGOTIATE = 0x30
STATUS = 0x40
ERROR = 0x7E
GOODBYE = 0x7F

#: Codec ids of FRAME and ACCEPT (§3.2, §3.4). A receiver takes one only if its HELLO offered it (§4.1.1):
#: the decoder's ``codecs`` (the HELLO codecs byte; 0 = JPEG only, which this client sends).
CODEC_JPEG = 1
CODEC_H264 = 2
PROTOCOL_CODECS: Dict[int, str] = {CODEC_JPEG: "jpeg", CODEC_H264: "h264"}

#: FRAME flags bits (§3.4); the other bits are reserved (sent as 0, ignored on receipt).
FRAME_FLAG_KEYFRAME = 0x01
FRAME_FLAG_CATCH_UP = 0x02


def codec_bit(codec: int) -> int:
    """The HELLO codecs bit of a codec id (§4.1.1): bit (id - 1)."""
    return 1 << (codec - 1)

STATUS_SOURCE_LOST = 1
STATUS_SOURCE_RESUMED = 2
STATUS_INFO = 3
_KNOWN_STATUS = (STATUS_SOURCE_LOST, STATUS_SOURCE_RESUMED, STATUS_INFO)

#: Bounds a server clamps requests to (§4.1); 0 means "server default".
LIMITS = {"width": (16, 3840), "height": (16, 2160), "fps": (1, 120), "quality": (1, 100)}

_ENVELOPE = struct.Struct(">BBHI")
_HELLO = struct.Struct(">4sHHHHBBH")
_ACCEPT = struct.Struct(">HHHHBBHQHH")
_FRAME = struct.Struct(">IQHHBB2xI")
_CODE_TEXT = struct.Struct(">HH")
_U32 = struct.Struct(">I")
_PING = struct.Struct(">IQ")
_PONG = struct.Struct(">IQQQ")
_RENEGOTIATE = struct.Struct(">HHHBx")


@dataclass(frozen=True)
class Hello:
    width: int = 0
    height: int = 0
    fps: int = 0
    quality: int = 0
    token: str = ""
    version: int = PROTOCOL_VERSION
    #: Codecs the client can take, a bitmask (§4.1.1): bit 0 JPEG, bit 1 H.264; 0 = JPEG only.
    codecs: int = 0
    type: ClassVar[str] = "hello"


@dataclass(frozen=True)
class Accept:
    width: int
    height: int
    fps: int
    quality: int
    codec: int
    #: Frames the server sends ahead of the client's ACKs (§4.2).
    window: int
    server_time_us: int
    source: str
    version: int = PROTOCOL_VERSION
    type: ClassVar[str] = "accept"


@dataclass(frozen=True)
class Reject:
    code: str
    text: str
    type: ClassVar[str] = "reject"


@dataclass(frozen=True)
class FrameMessage:
    seq: int
    #: Capture time, µs since the Unix epoch on the server's clock (§2.3).
    capture_us: int
    width: int
    height: int
    codec: int
    payload: bytes
    #: FRAME flags (§3.4): the payload decodes on its own; part of a catch-up burst (decode, do not show).
    keyframe: bool = False
    catch_up: bool = False
    type: ClassVar[str] = "frame"


@dataclass(frozen=True)
class Ack:
    seq: int
    type: ClassVar[str] = "ack"


@dataclass(frozen=True)
class Ping:
    id: int
    t1: int
    type: ClassVar[str] = "ping"


@dataclass(frozen=True)
class Pong:
    id: int
    t1: int
    t2: int
    t3: int
    type: ClassVar[str] = "pong"


@dataclass(frozen=True)
class Renegotiate:
    width: int = 0
    height: int = 0
    fps: int = 0
    quality: int = 0
    type: ClassVar[str] = "renegotiate"


@dataclass(frozen=True)
class Status:
    status: int
    text: str
    type: ClassVar[str] = "status"


@dataclass(frozen=True)
class ErrorMessage:
    code: str
    text: str
    type: ClassVar[str] = "error"


@dataclass(frozen=True)
class Goodbye:
    #: "OK" for a normal close, else an error code name.
    code: str
    text: str
    type: ClassVar[str] = "goodbye"


Message = Union[Hello, Accept, Reject, FrameMessage, Ack, Ping, Pong, Renegotiate, Status, ErrorMessage, Goodbye]

#: Smallest and largest legal body per type (§3.0); checked on the envelope alone.
_BODY_BOUNDS: Dict[int, Tuple[int, Optional[int]]] = {
    HELLO: (HELLO_FIXED_SIZE, HELLO_FIXED_SIZE + MAX_TOKEN_BYTES),
    ACCEPT: (ACCEPT_FIXED_SIZE, ACCEPT_FIXED_SIZE + MAX_TEXT_BYTES),
    REJECT: (4, 4 + MAX_TEXT_BYTES),
    FRAME: (FRAME_FIELDS_SIZE, None),
    ACK: (4, 4),
    PING: (12, 12),
    PONG: (28, 28),
    RENEGOTIATE: (8, 8),
    STATUS: (4, 4 + MAX_TEXT_BYTES),
    ERROR: (4, 4 + MAX_TEXT_BYTES),
    GOODBYE: (4, 4 + MAX_TEXT_BYTES),
}


def _malformed(text: str) -> FramewireError:
    return FramewireError("E_MALFORMED", text)


# ── encoder ─────────────────────────────────────────────────────────────────────────────────────────


def _envelope(type_: int, body: bytes) -> bytes:
    return _ENVELOPE.pack(type_, 0, 0, len(body)) + body


def _text_bytes(text: str, limit: int, what: str) -> bytes:
    b = text.encode("utf-8")
    if len(b) > limit:
        raise FramewireError("E_TOO_LARGE", f"{what} is {len(b)} bytes, limit {limit}")
    return b


def _truncated_text(text: str, limit: int) -> bytes:
    """UTF-8 of text cut to at most limit bytes at a character boundary (reasons inform, never fail)."""
    b = text.encode("utf-8")
    if len(b) <= limit:
        return b
    end = limit
    while end > 0 and (b[end] & 0xC0) == 0x80:
        end -= 1
    return b[:end]


def _code_text(type_: int, code: int, text: str) -> bytes:
    t = _truncated_text(text, MAX_TEXT_BYTES)
    return _envelope(type_, _CODE_TEXT.pack(code, len(t)) + t)


def _error_number(code: str) -> int:
    if code not in ERROR_CODES:
        raise FramewireError("E_BAD_PARAMS", f"unknown error code {code!r}")
    return ERROR_CODES[code]


def encode_message(m: Message) -> bytes:
    """The wire bytes of one message, envelope included. Out-of-range fields raise E_BAD_PARAMS."""
    try:
        return _encode(m)
    except struct.error as e:
        raise FramewireError("E_BAD_PARAMS", f"cannot encode {m.type}: {e}") from e


def _encode(m: Message) -> bytes:
    if isinstance(m, Hello):
        token = _text_bytes(m.token, MAX_TOKEN_BYTES, "token")
        body = _HELLO.pack(MAGIC, m.version, m.width, m.height, m.fps, m.quality, m.codecs, len(token)) + token
        return _envelope(HELLO, body)
    if isinstance(m, Accept):
        src = _text_bytes(m.source, MAX_TEXT_BYTES, "source description")
        fields = (m.version, m.width, m.height, m.fps, m.quality, m.codec, m.window, m.server_time_us, 0, len(src))
        return _envelope(ACCEPT, _ACCEPT.pack(*fields) + src)
    if isinstance(m, Reject):
        return _code_text(REJECT, _error_number(m.code), m.text)
    if isinstance(m, ErrorMessage):
        return _code_text(ERROR, _error_number(m.code), m.text)
    if isinstance(m, Goodbye):
        return _code_text(GOODBYE, 0 if m.code == "OK" else _error_number(m.code), m.text)
    if isinstance(m, Status):
        return _code_text(STATUS, m.status, m.text)
    if isinstance(m, FrameMessage):
        flags = (FRAME_FLAG_KEYFRAME if m.keyframe else 0) | (FRAME_FLAG_CATCH_UP if m.catch_up else 0)
        head = _FRAME.pack(m.seq, m.capture_us, m.width, m.height, m.codec, flags, len(m.payload))
        return _envelope(FRAME, head + bytes(m.payload))
    if isinstance(m, Ack):
        return _envelope(ACK, _U32.pack(m.seq))
    if isinstance(m, Ping):
        return _envelope(PING, _PING.pack(m.id, m.t1))
    if isinstance(m, Pong):
        return _envelope(PONG, _PONG.pack(m.id, m.t1, m.t2, m.t3))
    if isinstance(m, Renegotiate):
        return _envelope(RENEGOTIATE, _RENEGOTIATE.pack(m.width, m.height, m.fps, m.quality))
    raise FramewireError("E_BAD_PARAMS", f"not a framewire message: {m!r}")


# ── decoder ─────────────────────────────────────────────────────────────────────────────────────────


def check_envelope(head: bytes, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Tuple[int, int]:
    """Check an 8-byte envelope in the order of §2.2; returns (type, body length) or raises."""
    type_, flags, reserved, length = _ENVELOPE.unpack(head)
    bounds = _BODY_BOUNDS.get(type_)
    if bounds is None:
        raise _malformed(f"unknown message type 0x{type_:02x}")
    if flags != 0 or reserved != 0:
        raise _malformed("envelope flags/reserved must be zero in framewire/1")
    if length > max_message_bytes:
        raise FramewireError("E_TOO_LARGE", f"message of {length} bytes exceeds the limit of {max_message_bytes}")
    lo, hi = bounds
    if length < lo or (hi is not None and length > hi):
        allowed = min(hi, max_message_bytes) if hi is not None else max_message_bytes
        what = f"message type 0x{type_:02x} with a {length}-byte body (allowed {lo}..{allowed})"
        # §2.2 step 4: over the maximum of a type with a token or text field, that field is over its limit.
        if hi is not None and length > hi and lo != hi:
            raise FramewireError("E_TOO_LARGE", f"{what}: its {'token' if type_ == HELLO else 'text'} is over the limit")
        raise _malformed(what)
    return type_, length


def parse_supported_versions(text: str) -> Optional[List[int]]:
    """The versions a REJECT E_VERSION says the server speaks ("supported: 1; …", §4.7), or None."""
    prefix = "supported: "
    if not text.startswith(prefix):
        return None
    listed = text[len(prefix) :].split(";", 1)[0]
    if not re.fullmatch(r"\d{1,5}(,\d{1,5})*", listed):
        return None
    versions = [int(v) for v in listed.split(",")]
    return versions if all(1 <= v <= 0xFFFF for v in versions) else None


def _text(body: bytes, len_offset: int, start: int, what: str) -> str:
    (n,) = struct.unpack_from(">H", body, len_offset)
    if start + n != len(body):
        raise _malformed(f"{what}: length field {n} does not match the body ({len(body) - start} bytes)")
    try:
        return body[start:].decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed(f"{what} is not valid UTF-8") from None


def _codec(n: int, offered: int) -> int:
    if n not in PROTOCOL_CODECS:
        raise FramewireError("E_UNSUPPORTED", f"codec {n} is not supported (1 = JPEG, 2 = H.264)")
    if n != CODEC_JPEG and not offered & codec_bit(n):
        raise FramewireError("E_UNSUPPORTED", f"codec {n} was not offered (the hello's codecs were 0x{offered:02x})")
    return n


def parse_body(type_: int, body: bytes, codecs: int = 0) -> Message:
    """Parse one complete body whose envelope passed check_envelope; raises FramewireError.

    ``codecs`` is the receiver's HELLO codecs byte (§4.1.1): an ACCEPT or FRAME with a codec outside it is E_UNSUPPORTED.
    """
    if type_ == HELLO:
        magic, version, width, height, fps, quality, offered, _ = _HELLO.unpack_from(body)
        if magic != MAGIC:
            raise FramewireError("E_BAD_MAGIC", 'hello does not start with "FWIR"')
        if version != PROTOCOL_VERSION:
            raise FramewireError(
                "E_VERSION", f"supported: {PROTOCOL_VERSION}; protocol version {version} is not supported"
            )
        token = _text(body, 14, HELLO_FIXED_SIZE, "token")
        return Hello(width, height, fps, quality, token, version, offered)
    if type_ == ACCEPT:
        version, width, height, fps, quality, codec, window, server_time_us, _, _ = _ACCEPT.unpack_from(body)
        source = _text(body, 22, ACCEPT_FIXED_SIZE, "source description")
        return Accept(width, height, fps, quality, _codec(codec, codecs), window, server_time_us, source, version)
    if type_ in (REJECT, ERROR, GOODBYE, STATUS):
        code, _ = _CODE_TEXT.unpack_from(body)
        if type_ == STATUS:
            if code not in _KNOWN_STATUS:
                raise _malformed(f"unknown status code {code}")
            return Status(code, _text(body, 2, 4, "status text"))
        text = _text(body, 2, 4, "reason")
        if type_ == REJECT:
            return Reject(code_from_number(code), text)
        if type_ == ERROR:
            return ErrorMessage(code_from_number(code), text)
        return Goodbye("OK" if code == 0 else code_from_number(code), text)
    if type_ == FRAME:
        seq, capture_us, width, height, codec, flags, payload_length = _FRAME.unpack_from(body)
        if FRAME_FIELDS_SIZE + payload_length != len(body):
            raise _malformed(
                f"frame payload length {payload_length} does not match the body ({len(body) - FRAME_FIELDS_SIZE} bytes)"
            )
        return FrameMessage(
            seq,
            capture_us,
            width,
            height,
            _codec(codec, codecs),
            body[FRAME_FIELDS_SIZE:],
            bool(flags & FRAME_FLAG_KEYFRAME),
            bool(flags & FRAME_FLAG_CATCH_UP),
        )
    if type_ == ACK:
        return Ack(_U32.unpack(body)[0])
    if type_ == PING:
        return Ping(*_PING.unpack(body))
    if type_ == PONG:
        return Pong(*_PONG.unpack(body))
    if type_ == RENEGOTIATE:
        return Renegotiate(*_RENEGOTIATE.unpack(body))
    raise _malformed(f"unknown message type 0x{type_:02x}")


class MessageDecoder:
    """Incremental framewire/1 decoder. A decoder that failed stays failed (§2.2: no resynchronisation)."""

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, codecs: int = 0) -> None:
        self._max = max_message_bytes
        #: The HELLO codecs byte this receiver sent (§4.1.1); 0: JPEG only.
        self._codecs = codecs
        self._buf = bytearray()
        self._pending: Optional[Tuple[int, int]] = None
        self._failed: Optional[FramewireError] = None

    @property
    def buffered_bytes(self) -> int:
        """Bytes held waiting for the rest of a message."""
        return len(self._buf)

    @property
    def error(self) -> Optional[FramewireError]:
        return self._failed

    def push(self, chunk: Union[bytes, bytearray, memoryview]) -> Tuple[List[Message], Optional[FramewireError]]:
        """Feed bytes; returns every message they complete and the error that ended the stream, if any."""
        messages: List[Message] = []
        if self._failed is not None:
            return messages, self._failed
        buf = self._buf
        buf += chunk
        pos = 0
        try:
            while True:
                if self._pending is None:
                    if len(buf) - pos < ENVELOPE_SIZE:
                        break
                    self._pending = check_envelope(bytes(buf[pos : pos + ENVELOPE_SIZE]), self._max)
                    pos += ENVELOPE_SIZE
                type_, length = self._pending
                if len(buf) - pos < length:
                    break
                with memoryview(buf) as view:
                    body = bytes(view[pos : pos + length])
                pos += length
                self._pending = None
                messages.append(parse_body(type_, body, self._codecs))
        except FramewireError as e:
            self._failed = e
            buf.clear()
            return messages, e
        del buf[:pos]
        return messages, None
