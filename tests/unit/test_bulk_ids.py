"""The ids bulk issuance makes itself: UUID layouts that `uuid.UUID` reads back as such."""

from __future__ import annotations

import time
import uuid

from rpl.storage.bulk import random_uuid, time_ordered_id


def test_time_ordered_ids_are_version_7_and_sort_by_time() -> None:
    before = time.time_ns() // 1_000_000
    made = [time_ordered_id() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after  # its first 48 bits: Unix time in ms
    assert len(set(made)) == len(made)
    millis = [uuid.UUID(t).int >> 80 for t in made]
    assert millis == sorted(millis)


def test_random_uuids_are_version_4_and_differ() -> None:
    made = [random_uuid() for _ in range(2000)]
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(made)) == len(made)
    # the random bits are spread: each hex position outside the fixed nibbles takes many values
    positions = [i for i in range(36) if i not in (8, 13, 14, 18, 19, 23)]
    assert all(len({t[i] for t in made}) > 8 for i in positions)
