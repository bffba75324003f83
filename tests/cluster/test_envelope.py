from __future__ import annotations

import random

import msgspec
import pytest

from faceplate.cluster.envelope import MAX_PAYLOAD, Message, Part, Reassembler, split

# Characters that stress the cut: escapes of one and six bytes, UTF-8 of two to four bytes.
_ALPHABET = ['"', "\\", "\n", "\x00", "\x1f", "u", "a", "é", "€", "😀", "\u2028", "0", "\ud7ff"]


def _text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(size))


def _roundtrip(body: bytes, *, sender: str = "instance-a", limit: int = MAX_PAYLOAD) -> list[str]:
    payloads = split(sender, 7, body, limit=limit)
    assembler = Reassembler()
    delivered = [assembler.feed(payload) for payload in payloads]
    assert delivered[:-1] == [None] * (len(payloads) - 1)
    assert delivered[-1] == Message(sender, 7, body)
    assert assembler.pending == 0
    return payloads


@pytest.mark.parametrize("seed", range(40))
def test_any_text_survives_the_cut(seed: int) -> None:
    rng = random.Random(seed)
    limit = rng.choice([64, 100, 333, MAX_PAYLOAD])
    body = _text(rng, rng.choice([0, 1, 50, 1000, 40_000])).encode()
    for payload in _roundtrip(body, limit=limit):
        assert len(payload.encode()) <= limit
        assert "\x00" not in payload  # PostgreSQL text holds no NUL


def test_a_large_frame_fills_its_parts() -> None:
    rng = random.Random(1)
    frame = msgspec.json.encode({"type": "text_delta", "delta": _text(rng, 300_000)})
    payloads = _roundtrip(frame)
    sizes = [len(p.encode()) for p in payloads]
    assert max(sizes) <= MAX_PAYLOAD
    # A cut gives up at most one escape, and the envelope reserves room for the widest numbers.
    assert min(sizes[:-1]) >= MAX_PAYLOAD - 32


def test_a_one_mebibyte_ascii_frame_takes_few_parts() -> None:
    body = b"x" * (1024 * 1024)
    payloads = _roundtrip(body)
    assert len(payloads) == -(-len(body) // (MAX_PAYLOAD - 64))


@pytest.mark.parametrize("seed", range(10))
def test_bytes_that_are_not_utf8_travel_as_base64(seed: int) -> None:
    rng = random.Random(seed)
    body = b"\xff" + rng.randbytes(rng.choice([0, 10, 20_000]))
    payloads = _roundtrip(body, limit=500)
    assert msgspec.json.decode(payloads[0], type=Part).base64


def test_a_small_message_is_one_readable_part() -> None:
    (payload,) = split("a", 1, b'{"type":"pong"}')
    assert msgspec.json.decode(payload) == ["a", 1, 0, 1, '{"type":"pong"}', False]


def test_a_sender_name_too_long_for_a_payload_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        split("n" * 200, 1, b"x", limit=200)


def test_messages_of_several_senders_come_whole_and_in_order() -> None:
    rng = random.Random(3)
    sent = {
        sender: [_text(rng, rng.randrange(2000)).encode() for _ in range(20)] for sender in "abc"
    }
    streams = {
        sender: [split(sender, n, body, limit=300) for n, body in enumerate(bodies)]
        for sender, bodies in sent.items()
    }
    # Each message's parts stay together (one transaction each), messages of senders interleave.
    interleaved: list[str] = []
    cursors = dict.fromkeys(streams, 0)
    while any(cursors[s] < len(streams[s]) for s in streams):
        sender = rng.choice([s for s in streams if cursors[s] < len(streams[s])])
        interleaved += streams[sender][cursors[sender]]
        cursors[sender] += 1
    assembler = Reassembler()
    got: dict[str, list[bytes]] = {s: [] for s in streams}
    for payload in interleaved:
        message = assembler.feed(payload)
        if message is not None:
            got[message.sender].append(message.body)
    assert got == sent


def test_an_incomplete_message_is_dropped_when_its_sender_goes_on() -> None:
    assembler = Reassembler()
    first = split("a", 1, b"x" * 1000, limit=200)
    second = split("a", 2, b"y" * 1000, limit=200)
    for payload in first[:-1]:
        assert assembler.feed(payload) is None
    assert assembler.pending == 1
    delivered = [assembler.feed(p) for p in second]
    assert delivered[-1] == Message("a", 2, b"y" * 1000)
    assert assembler.dropped == 1 and assembler.pending == 0
    assert assembler.feed(first[-1]) is None  # too late: message 1 is behind message 2


def test_a_gap_inside_a_message_drops_it() -> None:
    assembler = Reassembler()
    parts = split("a", 1, b"z" * 1000, limit=200)
    for payload in parts[:2] + parts[3:]:
        assert assembler.feed(payload) is None
    assert assembler.dropped == 1


def test_forget_drops_what_a_sender_that_went_away_left() -> None:
    assembler = Reassembler()
    parts = split("gone", 5, b"z" * 1000, limit=200)
    assembler.feed(parts[0])
    assembler.forget("gone")
    assert (assembler.pending, assembler.dropped) == (0, 1)
    assert assembler.feed(parts[1]) is None
    # Forgotten, the same name may begin again from any id.
    assert assembler.feed(split("gone", 1, b"new")[0]) == Message("gone", 1, b"new")


def test_reset_drops_every_incomplete_message() -> None:
    assembler = Reassembler()
    for sender in "ab":
        assembler.feed(split(sender, 1, b"z" * 1000, limit=200)[0])
    assembler.reset()
    assert (assembler.pending, assembler.dropped) == (0, 2)


def test_a_message_seen_again_is_delivered_once() -> None:
    assembler = Reassembler()
    parts = split("a", 9, b"w" * 1000, limit=200)
    assert [assembler.feed(p) for p in parts][-1] is not None
    assert [assembler.feed(p) for p in parts] == [None] * len(parts)
    assert assembler.duplicates == 1


def test_own_payloads_are_skipped() -> None:
    assembler = Reassembler(skip_sender="me")
    assert assembler.feed(split("me", 1, b"mine")[0]) is None
    assert assembler.feed(split("you", 1, b"yours")[0]) == Message("you", 1, b"yours")


def test_a_message_over_the_bound_is_dropped() -> None:
    assembler = Reassembler(max_bytes=500)
    parts = split("a", 1, b"q" * 2000, limit=200)
    assert [assembler.feed(p) for p in parts] == [None] * len(parts)
    assert assembler.dropped == 1 and assembler.pending == 0


@pytest.mark.parametrize(
    "payload",
    ["", "not json", "[]", '["a", 1, 0]', '["a", 1, 2, 2, "x"]', '["a", 1, 0, 0, "x"]', "{}"],
)
def test_a_payload_that_is_no_part_is_counted_and_ignored(payload: str) -> None:
    assembler = Reassembler()
    assert assembler.feed(payload) is None
    assert assembler.malformed == 1


def test_base64_that_does_not_decode_is_ignored() -> None:
    assembler = Reassembler()
    assert assembler.feed('["a", 1, 0, 1, "!!", true]') is None
    assert assembler.malformed == 1
