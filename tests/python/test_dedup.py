"""The dedup cache through ctypes: TTL edges, a full cache, digests, keys."""

import threading
import unittest

import lifeline
from lifeline.dedup import DEFAULT_HASH_KEY, DedupCache

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TTL = 60_000


class DedupCacheTest(unittest.TestCase):
    def test_ttl_edges(self):
        with DedupCache(ttl_ms=TTL, capacity=100) as cache:
            self.assertFalse(cache.check("+15551234567|q1", T0))
            self.assertTrue(cache.check("+15551234567|q1", T0))
            self.assertTrue(cache.check("+15551234567|q1", T0 + TTL - 1))
            self.assertFalse(cache.check("+15551234567|q1", T0 + TTL))  # expired
            self.assertTrue(cache.check("+15551234567|q1", T0 + TTL + 1))
            self.assertFalse(cache.check("incident-1", T0))
            self.assertFalse(cache.check("incident-1", T0 + TTL + 1))  # 1 ms after
            self.assertEqual(len(cache), 2)

    def test_duplicate_does_not_extend(self):
        cache = DedupCache(ttl_ms=1000, capacity=10)
        self.assertFalse(cache.check(b"k", 0))
        for t in range(100, 1000, 100):
            self.assertTrue(cache.check(b"k", t))
        self.assertFalse(cache.check(b"k", 1000))
        cache.close()

    def test_full_raises_and_evicts_nothing(self):
        cache = DedupCache(ttl_ms=TTL, capacity=2)
        self.assertFalse(cache.check("a", T0))
        self.assertFalse(cache.check("b", T0 + 1))
        with self.assertRaises(lifeline.FullError) as ctx:
            cache.check("c", T0 + 2)
        self.assertEqual(
            str(ctx.exception),
            "lifeline_dedup_check: the cache is full: all 2 entries are live at now_ms; "
            "the key was not remembered")
        self.assertEqual(ctx.exception.status, 6)
        self.assertTrue(cache.check("a", T0 + 3))
        self.assertTrue(cache.check("b", T0 + 3))
        with self.assertRaises(lifeline.dedup.FullError):
            cache.check("c", T0 + TTL - 1)
        self.assertFalse(cache.check("c", T0 + TTL))  # a expired: room for one
        self.assertEqual(len(cache), 2)
        self.assertEqual(cache.expire(T0 + TTL + 1), 1)
        self.assertEqual(cache.expire(T0 + 10 * TTL), 0)

    def test_str_is_utf8_and_bytes_are_bytes(self):
        cache = DedupCache()
        self.assertEqual(cache.ttl_ms, 60000)
        self.assertEqual(cache.capacity, 100000)
        self.assertFalse(cache.check("café", T0))
        self.assertTrue(cache.check("café".encode("utf-8"), T0))
        self.assertFalse(cache.check(b"a\x00b", T0))
        self.assertFalse(cache.check(b"a\x00c", T0))
        self.assertTrue(cache.check(bytearray(b"a\x00b"), T0))
        with self.assertRaises(TypeError):
            cache.check(42, T0)

    def test_bad_arguments(self):
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            DedupCache(ttl_ms=0)
        self.assertIn("ttl_ms must be > 0", str(ctx.exception))
        with self.assertRaises(ValueError) as ctx:
            DedupCache(capacity=0)
        self.assertIn("capacity must be > 0", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            DedupCache(key=b"short")
        self.assertIn("hash_key_len must be 32 (a 256-bit key), got 5", str(ctx.exception))
        with self.assertRaises(TypeError):
            DedupCache(key="a str is not a key")
        cache = DedupCache()
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            cache.check(b"", T0)
        self.assertIn("key_len must be > 0", str(ctx.exception))
        with self.assertRaises(ValueError):
            cache.check_digest(b"\x00" * 15, T0)
        cache.close()
        with self.assertRaises(lifeline.StateError):
            cache.check(b"k", T0)
        cache.close()  # twice is harmless

    def test_digests_are_frozen_and_keyed(self):
        cache = DedupCache()
        digest = cache.digest("+15551234567|2026-03-08T07:30:00Z|queue-42")
        self.assertEqual(digest.hex(), "1bc4dc2a9ad38dbf19387b94a79338f2")
        self.assertEqual(DedupCache(key=DEFAULT_HASH_KEY).digest(
            "+15551234567|2026-03-08T07:30:00Z|queue-42"), digest)
        secret = bytes(range(0xA0, 0xC0))
        node_a = DedupCache(key=secret)
        node_b = DedupCache(key=secret)
        self.assertNotEqual(node_a.digest("request-9"), cache.digest("request-9"))
        self.assertEqual(node_a.digest("request-9"), node_b.digest("request-9"))
        # A request id computed on one node deduplicates on another.
        self.assertFalse(node_b.check_digest(node_a.digest("request-9"), T0))
        self.assertTrue(node_b.check("request-9", T0 + 1))

    def test_racing_threads_see_one_first_seen(self):
        cache = DedupCache(ttl_ms=TTL, capacity=10000)
        keys = ["caller-%d" % i for i in range(500)]
        first = []
        lock = threading.Lock()
        start = threading.Barrier(4)

        def run():
            start.wait()
            mine = [k for k in keys if not cache.check(k, T0)]
            with lock:
                first.extend(mine)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(first), sorted(keys))


if __name__ == "__main__":
    unittest.main()
