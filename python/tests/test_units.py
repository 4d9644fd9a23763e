"""The pure parts of the client: clock arithmetic, statistics, URLs, fingerprints, decoding, versioning."""
from __future__ import annotations

import math
import os
import time
import unittest

import numpy as np

import framewire
from framewire.client import Frame, normalise_fingerprint
from framewire.clock import ClockOffset, offset_sample
from framewire import turbojpeg
from framewire.codecs import _decode_jpeg_opencv, decodable_codecs, decode_image, jpeg_decoder
from framewire.errors import FramewireError, code_from_number
from framewire.protocol import CODEC_JPEG, PROTOCOL_VERSION
from framewire.stats import StatsWindow, percentile
from framewire.url import parse_stream_url


class Clock(unittest.TestCase):
    def test_the_worked_example_of_section_7_4(self) -> None:
        t1 = 1_700_000_000_000_000
        s = offset_sample(t1, t1 + 1500, t1 + 1700, t1 + 2000)
        self.assertEqual(s.offset_us, 600)
        self.assertEqual(s.rtt_us, 1800)

    def test_the_smallest_rtt_of_the_recent_samples_wins(self) -> None:
        c = ClockOffset(keep=3)
        self.assertIsNone(c.best)
        for offset, rtt in [(10, 5), (20, 50), (30, 40), (40, 30)]:
            c.add(offset_sample(0, offset + rtt // 2, offset + rtt // 2, rtt))
        best = c.best
        assert best is not None
        self.assertEqual(best.rtt_us, 30)  # (10, 5) fell out of the last three


class Statistics(unittest.TestCase):
    def test_nearest_rank_percentiles(self) -> None:
        s = [float(x) for x in range(1, 101)]
        self.assertEqual((percentile(s, 50), percentile(s, 95), percentile(s, 99)), (50, 95, 99))
        self.assertTrue(math.isnan(percentile([], 50)))

    def test_latency_ring_is_bounded(self) -> None:
        w = StatsWindow(keep_latencies=10)
        for i in range(1000):
            w.record(100, float(i))
        _, _, _, latency = w.summary()
        assert latency is not None
        self.assertEqual(latency.p50, 994)  # only the last ten (990..999) are kept
        self.assertEqual(w.frames, 1000)
        self.assertEqual(w.bytes, 100_000)


class Urls(unittest.TestCase):
    def test_schemes_and_default_port(self) -> None:
        self.assertEqual(tuple(parse_stream_url("tcp://cam.local")), ("tcp", "cam.local", 8880))
        self.assertEqual(tuple(parse_stream_url("tls://[::1]:9000")), ("tls", "::1", 9000))

    def test_bad_urls_are_e_bad_params(self) -> None:
        for url in ("http://x:1", "seed://x:1", "tcp://:1", "tcp://x:99999", "nonsense"):
            with self.subTest(url):
                with self.assertRaises(FramewireError) as ctx:
                    parse_stream_url(url)
                self.assertEqual(ctx.exception.code, "E_BAD_PARAMS")


class Parameters(unittest.TestCase):
    def test_bad_requests_fail_before_connecting(self) -> None:
        for kwargs in ({"width": -1}, {"quality": 256}, {"fps": 1.5}, {"token": "x" * 300}, {"tls_fingerprint": "AA:BB"}):
            with self.subTest(kwargs):
                with self.assertRaises(FramewireError) as ctx:
                    framewire.connect("tcp://127.0.0.1:9", **kwargs)  # type: ignore[arg-type]
                self.assertIn(ctx.exception.code, ("E_BAD_PARAMS", "E_TOO_LARGE"))

    def test_fingerprints_compare_without_separators_or_case(self) -> None:
        self.assertEqual(normalise_fingerprint("aa:bb:0c"), normalise_fingerprint("AABB0C"))


class Errors(unittest.TestCase):
    def test_unknown_numbers_are_e_internal(self) -> None:
        self.assertEqual(code_from_number(6), "E_AUTH")
        self.assertEqual(code_from_number(4242), "E_INTERNAL")

    def test_str_is_code_and_message(self) -> None:
        self.assertEqual(str(FramewireError("E_AUTH", "bad token")), "E_AUTH: bad token")


class Decoding(unittest.TestCase):
    def _jpeg(self, w: int, h: int) -> bytes:
        import cv2  # type: ignore[import]

        image = np.zeros((h, w, 3), np.uint8)
        image[:, :, 2] = 200  # red in BGR
        ok, data = cv2.imencode(".jpg", image)
        self.assertTrue(ok)
        return bytes(data)

    def _noise_jpeg(self, w: int, h: int) -> bytes:
        import cv2

        rng = np.random.default_rng(7)
        image = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (5, 5), 0)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        self.assertTrue(ok)
        return bytes(data)

    def test_turbojpeg_and_opencv_give_the_same_pixels(self) -> None:
        self.assertTrue(turbojpeg.available(), "libturbojpeg0 is installed (it is in .ci/run)")
        self.assertEqual(jpeg_decoder(), "turbojpeg")
        jpeg = self._noise_jpeg(320, 180)
        a = turbojpeg.decode_bgr(jpeg)
        b = _decode_jpeg_opencv(jpeg)
        self.assertEqual(a.shape, (180, 320, 3))
        self.assertTrue(np.array_equal(a, b), f"max difference {np.abs(a.astype(int) - b).max()}")

    def test_the_decoder_can_be_forced(self) -> None:
        old = os.environ.get("FRAMEWIRE_JPEG_DECODER")
        try:
            os.environ["FRAMEWIRE_JPEG_DECODER"] = "opencv"
            self.assertEqual(jpeg_decoder(), "opencv")
            self.assertEqual(decode_image(CODEC_JPEG, self._jpeg(64, 48)).shape, (48, 64, 3))
            os.environ["FRAMEWIRE_JPEG_DECODER"] = "pillow"
            with self.assertRaises(FramewireError):
                jpeg_decoder()
        finally:
            if old is None:
                del os.environ["FRAMEWIRE_JPEG_DECODER"]
            else:
                os.environ["FRAMEWIRE_JPEG_DECODER"] = old

    def test_turbojpeg_refuses_garbage_and_huge_headers_before_allocating(self) -> None:
        for junk in (b"", b"\xff\xd8\xff\xd9", b"not a jpeg at all"):
            with self.assertRaises(FramewireError) as ctx:
                turbojpeg.decode_bgr(junk)
            self.assertEqual(ctx.exception.code, "E_MALFORMED")
        jpeg = bytearray(self._jpeg(64, 48))
        sof = jpeg.index(b"\xff\xc0")
        jpeg[sof + 5 : sof + 9] = b"\x40\x00\x40\x00"  # height and width 16384: 268 Mpx
        with self.assertRaises(FramewireError) as ctx:
            turbojpeg.decode_bgr(bytes(jpeg))
        self.assertEqual(ctx.exception.code, "E_TOO_LARGE")

    def test_jpeg_decodes_to_a_bgr_array_of_the_frame_size(self) -> None:
        self.assertEqual(decodable_codecs(), [CODEC_JPEG])
        image = decode_image(CODEC_JPEG, self._jpeg(64, 48))
        self.assertEqual((image.shape, image.dtype), ((48, 64, 3), np.dtype(np.uint8)))
        self.assertGreater(int(image[:, :, 2].mean()), 150)  # still red: channels are BGR
        self.assertLess(int(image[:, :, 0].mean()), 50)

    def test_frame_image_is_lazy_cached_and_counts_failures(self) -> None:
        failures = []
        now = time.time()
        f = Frame(1, int(now * 1e6), now, now, 1.0, 64, 48, CODEC_JPEG, self._jpeg(64, 48), lambda: failures.append(1))
        self.assertIs(f.image, f.image)
        bad = Frame(2, 0, now, now, None, 2, 1, CODEC_JPEG, b"\xff\xd8\xff\xd9", lambda: failures.append(1))
        for _ in range(2):
            with self.assertRaises(FramewireError) as ctx:
                bad.image
            self.assertEqual(ctx.exception.code, "E_MALFORMED")
        self.assertEqual(failures, [1])  # counted once per frame

    def test_unknown_codecs_have_no_decoder(self) -> None:
        with self.assertRaises(FramewireError) as ctx:
            decode_image(2, b"")
        self.assertEqual(ctx.exception.code, "E_UNSUPPORTED")


class HostileText(unittest.TestCase):
    def test_server_text_reaches_the_terminal_without_control_characters(self) -> None:
        from framewire.view import printable

        shown = printable("\x1b]0;pwned\x07\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b31m\u202eevil")
        self.assertNotRegex(shown, "[\x00-\x1f\x7f-\x9f\u202e]")
        self.assertIn("\ufffd]0;pwned\ufffd", shown)
        self.assertEqual(printable("source lost: end of file"), "source lost: end of file")


class Version(unittest.TestCase):
    def test_major_version_is_the_protocol_version(self) -> None:
        major, minor, patch = (int(x) for x in framewire.__version__.split("."))
        self.assertEqual(major, PROTOCOL_VERSION)
        self.assertEqual(framewire.PROTOCOL_VERSION, 1)
        self.assertGreaterEqual(minor, 0)
        self.assertGreaterEqual(patch, 0)


if __name__ == "__main__":
    unittest.main()
