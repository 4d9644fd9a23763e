"""framewire: the newest camera frame as a numpy array, fresh however slow your loop.

    import framewire
    with framewire.connect("tcp://cam.local:8880", width=640, height=360, fps=15) as cam:
        for frame in cam:
            frame.image   # numpy array, BGR, ready for OpenCV

The package's major version is the framewire protocol version it speaks (1.x.y speaks framewire/1).
"""
from .client import (
    Accepted,
    Client,
    Frame,
    Params,
    Reconnect,
    certificate_fingerprint,
    connect,
)
from .codecs import Image, decodable_codecs
from .errors import ERROR_CODES, FramewireError
from .protocol import PROTOCOL_VERSION
from .stats import LatencySummary, Stats

#: MAJOR = the protocol version spoken (framewire/1 → 1.x.y); MINOR and PATCH are this package's own.
__version__ = "1.0.0"

__all__ = [
    "Accepted",
    "Client",
    "ERROR_CODES",
    "Frame",
    "FramewireError",
    "Image",
    "LatencySummary",
    "PROTOCOL_VERSION",
    "Params",
    "Reconnect",
    "Stats",
    "__version__",
    "certificate_fingerprint",
    "connect",
    "decodable_codecs",
]
