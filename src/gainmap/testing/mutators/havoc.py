"""Untargeted damage for the fuzzer: random byte-level edits (:func:`havoc`) and splices of two files
(:func:`splice`).  These know no format on purpose, so they carry no expected finding ids; :func:`havoc` writes
"interesting" integers in either byte order, as AFL does, which is byte arithmetic that belongs to no layout."""

from __future__ import annotations

import random


def havoc(data: bytes, rng: random.Random | int | None = None, rounds: int | None = None) -> bytes:
    """Untargeted damage: random byte flips, interesting values, insertions, deletions, block copies."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    out = bytearray(data)
    interesting = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2)
    for _ in range(rounds or rng.randint(1, 8)):
        if not out:
            out += b"\xff\xd8"
        pos = rng.randrange(len(out))
        op = rng.randrange(8)
        if op == 0:
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[pos] = rng.choice(interesting)
        elif op == 2:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3:
            del out[pos:pos + rng.randint(1, 64)]
        elif op == 4:
            src = rng.randrange(len(out))
            block = out[src:src + rng.randint(1, 256)]
            out[pos:pos] = block
        elif op == 5:
            width = rng.choice((2, 4))
            value = rng.choice((0, 1, 2, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1 << 32)))
            out[pos:pos + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, rng.choice(("big", "little")))
        elif op == 6:
            out[pos:pos] = b"\xff" + bytes((rng.choice((0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xC0, 0xC4, 0xDB, 0x00)),))
        else:
            del out[pos:]
    return bytes(out)


def splice(a: bytes, b: bytes, rng: random.Random | int | None = None) -> bytes:
    """The head of one file joined to the tail of another (cuts at random points)."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    return a[: rng.randint(0, len(a))] + b[rng.randint(0, len(b)):]
