"""framewire/1 against the committed byte-exact vectors in test/vectors (docs/protocol.md §3, §7).

The same fixtures the TypeScript codec is tested with (test/unit/protocol-vectors.test.ts): the encoder
must reproduce every valid vector's bytes, the decoder must read them back whatever the chunking, and every
invalid vector must fail with its listed code. FRAMEWIRE_VECTORS names the folder; by default it is found
from this file in a clone (python/tests → test/vectors).
"""
from __future__ import annotations

import json
import os
import re
import unittest
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from framewire import protocol as p
from framewire.errors import ERROR_CODES, FramewireError

VECTOR_DIR = Path(os.environ.get("FRAMEWIRE_VECTORS") or Path(__file__).resolve().parents[2] / "test" / "vectors")

# JSON field names (shared with the TypeScript tests) → this package's field names.
_FIELD = {"captureUs": "capture_us", "serverTimeUs": "server_time_us", "catchUp": "catch_up"}
#: Fields the vectors list only when set (§4.1.1, §3.4), as the TypeScript decoder gives them.
_ONLY_WHEN_SET = {"codecs", "keyframe", "catch_up"}
_CLASSES: Dict[str, Any] = {
    "hello": p.Hello,
    "accept": p.Accept,
    "reject": p.Reject,
    "frame": p.FrameMessage,
    "ack": p.Ack,
    "ping": p.Ping,
    "pong": p.Pong,
    "renegotiate": p.Renegotiate,
    "status": p.Status,
    "error": p.ErrorMessage,
    "goodbye": p.Goodbye,
}
_TYPE_IDS = {
    "hello": p.HELLO,
    "accept": p.ACCEPT,
    "reject": p.REJECT,
    "frame": p.FRAME,
    "ack": p.ACK,
    "ping": p.PING,
    "pong": p.PONG,
    "renegotiate": p.RENEGOTIATE,
    "status": p.STATUS,
    "error": p.ERROR,
    "goodbye": p.GOODBYE,
}


def parse_hex(text: str) -> bytes:
    """'#' comment lines, free whitespace, lowercase hex digits only (test/vectors/vectors.ts)."""
    digits = re.sub(r"\s+", "", "".join(l for l in text.split("\n") if not l.lstrip().startswith("#")))
    if not re.fullmatch(r"(?:[0-9a-f]{2})*", digits):
        raise ValueError(f"not lowercase hex with whole bytes: {digits[:40]}…")
    return bytes.fromhex(digits)


def read_vector(name: str) -> bytes:
    return parse_hex((VECTOR_DIR / name).read_text(encoding="utf-8"))


def load_index() -> List[Dict[str, Any]]:
    with open(VECTOR_DIR / "index.json", encoding="utf-8") as f:
        vectors: List[Dict[str, Any]] = json.load(f)["vectors"]
    return vectors


def message_from_json(j: Dict[str, Any]) -> p.Message:
    kwargs = {_FIELD.get(k, k): v for k, v in j.items() if k != "type"}
    if j["type"] == "frame":
        kwargs["payload"] = bytes.fromhex(kwargs["payload"])
    m: p.Message = _CLASSES[j["type"]](**kwargs)
    return m


def message_to_json(m: p.Message) -> Dict[str, Any]:
    back = {v: k for k, v in _FIELD.items()}
    out: Dict[str, Any] = {"type": m.type}
    for k, v in vars(m).items():
        if k in _ONLY_WHEN_SET and not v:
            continue
        out[back.get(k, k)] = v.hex() if isinstance(v, bytes) else v
    return out


def decode_all(data: bytes, chunk: int, decoder: Optional[p.MessageDecoder] = None) -> Tuple[List[Dict[str, Any]], Optional[FramewireError]]:
    d = decoder or p.MessageDecoder()
    messages: List[Dict[str, Any]] = []
    for i in range(0, max(1, len(data)), chunk):
        got, error = d.push(data[i : i + chunk])
        messages += [message_to_json(m) for m in got]
        if error is not None:
            return messages, error
    return messages, None


INDEX = load_index()
VALID = [v for v in INDEX if v["kind"] == "message"]
INVALID = [v for v in INDEX if v["kind"] == "invalid"]


class VectorFixtures(unittest.TestCase):
    def test_parse_hex_skips_comments_and_rejects_bad_digits(self) -> None:
        self.assertEqual(parse_hex("# comment 01\n01 0a\n  # ff\nff\t00\n"), bytes([1, 10, 255, 0]))
        with self.assertRaises(ValueError):
            parse_hex("0A")
        with self.assertRaises(ValueError):
            parse_hex("abc")

    def test_index_lists_every_hex_file_once(self) -> None:
        listed = sorted(v["file"] for v in INDEX)
        self.assertEqual(len(listed), len(set(listed)))
        self.assertEqual(listed, sorted(f.name for f in VECTOR_DIR.glob("*.hex")))

    def test_every_message_type_has_a_valid_vector(self) -> None:
        covered = {read_vector(v["file"])[0] for v in VALID}
        self.assertEqual(covered, set(_TYPE_IDS.values()))

    def test_every_expected_error_is_a_real_code(self) -> None:
        for v in INDEX:
            if "error" in v:
                self.assertIn(v["error"], ERROR_CODES, v["file"])


class ValidVectors(unittest.TestCase):
    def test_encode_reproduces_the_committed_bytes(self) -> None:
        for v in VALID:
            with self.subTest(v["file"]):
                self.assertEqual(p.encode_message(message_from_json(v["message"])).hex(), read_vector(v["file"]).hex())

    def test_decode_whole(self) -> None:
        for v in VALID:
            with self.subTest(v["file"]):
                d = p.MessageDecoder(codecs=v.get("codecs", 0))
                data = read_vector(v["file"])
                messages, error = decode_all(data, len(data), d)
                self.assertIsNone(error)
                self.assertEqual(messages, [v["message"]])
                self.assertEqual(d.buffered_bytes, 0)

    def test_decode_one_byte_at_a_time(self) -> None:
        for v in VALID:
            with self.subTest(v["file"]):
                messages, error = decode_all(read_vector(v["file"]), 1, p.MessageDecoder(codecs=v.get("codecs", 0)))
                self.assertIsNone(error)
                self.assertEqual(messages, [v["message"]])

    def test_nothing_until_the_last_byte(self) -> None:
        for v in VALID:
            with self.subTest(v["file"]):
                data = read_vector(v["file"])
                d = p.MessageDecoder(codecs=v.get("codecs", 0))
                self.assertEqual(d.push(data[:-1]), ([], None))
                messages, error = d.push(data[-1:])
                self.assertIsNone(error)
                self.assertEqual([message_to_json(m) for m in messages], [v["message"]])

    def test_envelope_length_is_file_size_minus_8(self) -> None:
        for v in VALID:
            with self.subTest(v["file"]):
                data = read_vector(v["file"])
                _, length = p.check_envelope(data[:8])
                self.assertEqual(length, len(data) - 8)

    def test_all_back_to_back_split_at_every_byte(self) -> None:
        joined = b"".join(read_vector(v["file"]) for v in VALID)
        expected = [v["message"] for v in VALID]
        for cut in range(len(joined) + 1):
            # A receiver that offered JPEG and H.264 takes every valid vector.
            d = p.MessageDecoder(codecs=0x03)
            first, e1 = d.push(joined[:cut])
            rest, e2 = d.push(joined[cut:])
            self.assertIsNone(e1)
            self.assertIsNone(e2)
            self.assertEqual([message_to_json(m) for m in first + rest], expected, f"cut at {cut}")


class InvalidVectors(unittest.TestCase):
    def test_fail_with_the_listed_code_in_any_chunking(self) -> None:
        for v in INVALID:
            data = read_vector(v["file"])
            for chunk in (len(data), 1, 3):
                with self.subTest(v["file"], chunk=chunk):
                    messages, error = decode_all(data, chunk, p.MessageDecoder(codecs=v.get("codecs", 0)))
                    self.assertIsInstance(error, FramewireError)
                    assert error is not None
                    self.assertEqual(error.code, v["error"])
                    self.assertEqual(messages, v.get("messagesBefore", []))

    def test_a_failed_decoder_stays_failed_and_holds_nothing(self) -> None:
        ack = read_vector("ack.hex")
        for v in INVALID:
            with self.subTest(v["file"]):
                d = p.MessageDecoder(codecs=v.get("codecs", 0))
                _, first = d.push(read_vector(v["file"]))
                self.assertIsNotNone(first)
                self.assertEqual(d.buffered_bytes, 0)
                for _ in range(3):
                    self.assertEqual(d.push(ack), ([], first))
                    self.assertEqual(d.buffered_bytes, 0)

    def test_too_large_fails_on_the_envelope_alone_and_follows_the_limit(self) -> None:
        data = read_vector("invalid-too-large.hex")
        self.assertEqual(len(data), 8)
        _, error = p.MessageDecoder().push(data)
        self.assertEqual(error.code if error else None, "E_TOO_LARGE")
        frame = read_vector("frame.hex")  # a 28-byte body
        _, error = p.MessageDecoder(max_message_bytes=27).push(frame[:8])
        self.assertEqual(error.code if error else None, "E_TOO_LARGE")
        messages, error = p.MessageDecoder(max_message_bytes=28).push(frame)
        self.assertIsNone(error)
        self.assertEqual(len(messages), 1)


class VersionRefusal(unittest.TestCase):
    def test_the_supported_versions_are_read_from_reject_version_hex(self) -> None:
        (m,), error = p.MessageDecoder().push(read_vector("reject-version.hex"))
        self.assertIsNone(error)
        assert isinstance(m, p.Reject)
        self.assertEqual(m.code, "E_VERSION")
        self.assertEqual(p.parse_supported_versions(m.text), [1])
        self.assertIsNone(p.parse_supported_versions("protocol version 2 is not supported"))
        self.assertEqual(p.parse_supported_versions("supported: 1,2"), [1, 2])


class Encoder(unittest.TestCase):
    def test_reason_texts_are_cut_at_a_character_boundary(self) -> None:
        data = p.encode_message(p.Status(p.STATUS_INFO, "é" * 600))  # 1200 bytes of UTF-8
        (m,), error = p.MessageDecoder().push(data)
        self.assertIsNone(error)
        assert isinstance(m, p.Status)
        self.assertEqual(m.text, "é" * 512)

    def test_a_long_token_is_refused(self) -> None:
        with self.assertRaises(FramewireError) as ctx:
            p.encode_message(p.Hello(token="x" * 257))
        self.assertEqual(ctx.exception.code, "E_TOO_LARGE")

    def test_out_of_range_fields_are_a_framewire_error(self) -> None:
        with self.assertRaises(FramewireError) as ctx:
            p.encode_message(p.Renegotiate(width=70000))
        self.assertEqual(ctx.exception.code, "E_BAD_PARAMS")


if __name__ == "__main__":
    unittest.main()
