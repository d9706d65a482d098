"""Helpers the bench scripts share, so their splits agree with consult's own."""


def fnv1a(s):
    """64-bit FNV-1a of the UTF-8 bytes of s, as `consult train` hashes ids (src/train.rs)."""
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fold(s):
    """Fold of an id, 0-4; fold 0 is the held-out test fold."""
    return fnv1a(s) % 5


def tidy(s):
    """Collapse runs of whitespace to one space and trim."""
    return " ".join(s.split())
