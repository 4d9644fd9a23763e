"""Picture decoders by codec id: the one place a FRAME's payload becomes a numpy array.

framewire/1 carries JPEG only (codec 1), and its HELLO has no codec field, so this client asks for JPEG
implicitly. JPEG is decoded by the system's libjpeg-turbo through its TurboJPEG API (framewire.turbojpeg:
BGR straight out, about 4× less CPU than Debian's OpenCV) or, when libturbojpeg is not installed, by
OpenCV's ``cv2.imdecode``; both give the same BGR uint8 array. FRAMEWIRE_JPEG_DECODER=opencv or
=turbojpeg forces one.

A later protocol version that offers another codec (H.264) would list in its HELLO only the codecs that
``decodable_codecs()`` returns, so a client never asks for a codec it cannot decode; adding one is a new
entry in ``_DECODERS`` and ``_PROBES`` plus its id in protocol.PROTOCOL_CODECS.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List

import numpy as np
import numpy.typing as npt

from . import turbojpeg
from .errors import FramewireError
from .protocol import CODEC_JPEG, PROTOCOL_CODECS

#: A decoded picture: shape (height, width, 3), BGR channel order, uint8.
Image = npt.NDArray[np.uint8]

_cv2: Any = None


def load_opencv() -> Any:
    """Import cv2 on first use: the protocol and the raw JPEG bytes work without it."""
    global _cv2
    if _cv2 is None:
        try:
            import cv2  # type: ignore[import]
        except ImportError as e:
            raise FramewireError(
                "E_UNSUPPORTED",
                "decoding JPEG needs libturbojpeg (apt-get install libturbojpeg0) or OpenCV (apt-get install python3-opencv)",
            ) from e
        _cv2 = cv2
    return _cv2


def _decode_jpeg_opencv(payload: bytes) -> Image:
    cv2 = load_opencv()
    image = cv2.imdecode(np.frombuffer(payload, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FramewireError("E_MALFORMED", f"a {len(payload)}-byte payload is not a decodable JPEG")
    return image  # type: ignore[no-any-return]


def jpeg_decoder() -> str:
    """Which JPEG decoder this installation uses: "turbojpeg" or "opencv" (FramewireError if neither)."""
    forced = os.environ.get("FRAMEWIRE_JPEG_DECODER", "")
    if forced not in ("", "turbojpeg", "opencv"):
        raise FramewireError("E_BAD_PARAMS", f"FRAMEWIRE_JPEG_DECODER={forced!r}: use turbojpeg or opencv")
    if forced != "opencv" and turbojpeg.available():
        return "turbojpeg"
    if forced == "turbojpeg":
        raise FramewireError("E_UNSUPPORTED", "FRAMEWIRE_JPEG_DECODER=turbojpeg but libturbojpeg is not installed")
    load_opencv()
    return "opencv"


def _decode_jpeg(payload: bytes) -> Image:
    if jpeg_decoder() == "turbojpeg":
        return turbojpeg.decode_bgr(payload)
    return _decode_jpeg_opencv(payload)


_DECODERS: Dict[int, Callable[[bytes], Image]] = {CODEC_JPEG: _decode_jpeg}
_PROBES: Dict[int, Callable[[], object]] = {CODEC_JPEG: jpeg_decoder}


def decodable_codecs() -> List[int]:
    """Codec ids this installation can decode to images, in order of preference."""
    out: List[int] = []
    for codec in _DECODERS:
        try:
            _PROBES[codec]()
        except FramewireError:
            continue
        if codec in PROTOCOL_CODECS:
            out.append(codec)
    return out


def decode_image(codec: int, payload: bytes) -> Image:
    """The picture as a BGR uint8 array of shape (height, width, 3); FramewireError if it cannot be."""
    decoder = _DECODERS.get(codec)
    if decoder is None:
        raise FramewireError("E_UNSUPPORTED", f"no decoder for codec {codec}")
    return decoder(payload)
