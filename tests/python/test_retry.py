"""Retry, backoff, Retry-After, the classifier, the retry budget and the rate
limiters through ctypes."""

import threading
import unittest

import lifeline
from lifeline import (Backoff, GiveUp, Jitter, KeyedRateLimiter, RateLimiter, RetryBudget,
                      RetryPolicy, TransportError, is_retryable, parse_retry_after)

# 1994-11-06T08:49:37Z, RFC 9110's example date.
EXAMPLE_MS = 784111777000


class BackoffTest(unittest.TestCase):
    def test_defaults_are_the_seeds_policy(self):
        self.assertEqual(RetryPolicy(), RetryPolicy(15000, 2.0, 120000, 4, Jitter.NONE, 300000))
        with Backoff(RetryPolicy(), seed=1) as b:
            self.assertEqual(b.attempts_made, 1)
            self.assertEqual([b.next_delay(), b.next_delay(), b.next_delay()],
                             [15000, 30000, 60000])
            self.assertEqual(b.attempts_made, 4)
            self.assertIsNone(b.next_delay())
            self.assertIs(b.give_up_reason, GiveUp.ATTEMPTS_EXHAUSTED)
            b.reset()
            self.assertEqual(b.attempts_made, 1)
            self.assertEqual(b.next_delay(), 15000)
        with self.assertRaises(lifeline.StateError):
            b.next_delay()

    def test_jitter_bounds_and_determinism(self):
        for jitter in Jitter:
            policy = RetryPolicy(jitter=jitter, max_attempts=6)
            for seed in range(100):
                with Backoff(policy, seed) as a, Backoff(policy, seed) as b:
                    previous = policy.initial_ms
                    for n in range(5):
                        da, db = a.next_delay(), b.next_delay()
                        self.assertEqual(da, db)
                        ceiling = min(policy.max_ms, policy.initial_ms * 2 ** n)
                        if jitter is Jitter.NONE:
                            self.assertEqual(da, ceiling)
                        elif jitter is Jitter.FULL:
                            self.assertTrue(0 <= da <= ceiling)
                        elif jitter is Jitter.EQUAL:
                            self.assertTrue(ceiling - ceiling // 2 <= da <= ceiling)
                        else:
                            self.assertTrue(policy.initial_ms <= da <= min(policy.max_ms,
                                                                           3 * previous))
                            previous = da

    def test_retry_after_is_never_undercut_and_capped_by_giving_up(self):
        b = Backoff(RetryPolicy(), seed=3)
        self.assertEqual(b.next_delay(retry_after_ms=90000), 90000)
        self.assertEqual(b.next_delay(retry_after_ms=1), 30000)
        self.assertIsNone(b.next_delay(retry_after_ms=300001))
        self.assertIs(b.give_up_reason, GiveUp.RETRY_AFTER_TOO_LONG)
        self.assertEqual(b.attempts_made, 3)  # no attempt consumed
        self.assertEqual(b.next_delay(), 60000)
        self.assertIs(b.give_up_reason, GiveUp.NONE)
        b.close()

    def test_invalid_policy_names_the_field(self):
        cases = {
            "initial_ms": RetryPolicy(initial_ms=0),
            "multiplier": RetryPolicy(multiplier=float("nan")),
            "max_ms": RetryPolicy(max_ms=10),
            "max_attempts": RetryPolicy(max_attempts=0),
            "jitter": RetryPolicy(jitter=9),
            "retry_after_cap_ms": RetryPolicy(retry_after_cap_ms=-1),
        }
        for field, policy in cases.items():
            with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                Backoff(policy)
            self.assertIn("policy->" + field, str(ctx.exception))
            self.assertIsInstance(ctx.exception, ValueError)


class RetryAfterTest(unittest.TestCase):
    def test_all_forms(self):
        self.assertEqual(parse_retry_after("120", 0), 120000)
        self.assertEqual(parse_retry_after(" 7 ", 0), 7000)
        self.assertEqual(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_MS - 2500),
                         2500)
        self.assertEqual(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", EXAMPLE_MS - 1000),
                         1000)
        self.assertEqual(parse_retry_after("Sun Nov  6 08:49:37 1994", EXAMPLE_MS - 1000), 1000)
        self.assertEqual(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_MS + 1), 0)
        self.assertEqual(parse_retry_after("9" * 40, 0), 2 ** 31 * 1000)

    def test_garbage(self):
        for value in ("", "soon", "-1", "1.5", "Mon, 06 Nov 1994 08:49:37 GMT", "\u00e9t\u00e9"):
            with self.assertRaises(lifeline.InvalidArgumentError, msg=value) as ctx:
                parse_retry_after(value, EXAMPLE_MS)
            self.assertIn("Retry-After", str(ctx.exception))


class ClassifierTest(unittest.TestCase):
    def test_statuses_and_transport_errors(self):
        retryable = {s for s in range(100, 600) if is_retryable(s)}
        self.assertEqual(retryable, {408, 425, 429} | set(range(500, 600)))
        self.assertTrue(is_retryable(transport_error=TransportError.TIMEOUT))
        self.assertTrue(is_retryable(transport_error=TransportError.CONNECTION))
        self.assertFalse(is_retryable(transport_error=TransportError.TLS))
        self.assertFalse(is_retryable(transport_error=TransportError.OTHER))
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            is_retryable(42)
        self.assertIn("http_status", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError):
            is_retryable(500, 17)


class RetryBudgetTest(unittest.TestCase):
    def test_surge_cannot_exceed_half_the_tokens(self):
        with RetryBudget(10, 0.1) as budget:
            retries = 0
            for _ in range(1000):
                budget.record_failure()
                if budget.allow_retry():
                    retries += 1
            self.assertEqual(retries, 4)  # 9, 8, 7, 6 are above 5; 5 is not
            self.assertEqual(budget.tokens, 0.0)
            for _ in range(51):
                budget.record_success()
            self.assertAlmostEqual(budget.tokens, 5.1)
            self.assertTrue(budget.allow_retry())

    def test_invalid(self):
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            RetryBudget(0, 0.1)
        self.assertIn("max_tokens", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            RetryBudget(10, 20)
        self.assertIn("token_ratio", str(ctx.exception))


class RateLimiterTest(unittest.TestCase):
    def test_exact_window_and_retry_in(self):
        with RateLimiter(3, 1000) as rl:
            self.assertEqual([rl.try_acquire(0) for _ in range(3)], [(True, 0)] * 3)
            self.assertEqual(rl.try_acquire(400), (False, 600))
            self.assertEqual(rl.try_acquire(999), (False, 1))
            self.assertEqual(rl.try_acquire(1000), (True, 0))

    def test_sliding_window_brute_force(self):
        import random
        rng = random.Random(5)
        rl = RateLimiter(4, 100)
        grants, t = [], 0
        for _ in range(3000):
            t += rng.choice((0, 0, 1, 5, 20, 60, 150))
            allowed, retry_in = rl.try_acquire(t)
            if allowed:
                grants.append(t)
            else:
                self.assertEqual(sum(1 for g in grants if t - 100 < g <= t), 4)
                self.assertGreaterEqual(retry_in, 1)
        for i in range(len(grants) - 4):
            self.assertGreaterEqual(grants[i + 4] - grants[i], 100)
        rl.close()

    def test_pause_until(self):
        rl = RateLimiter(50, 1000)
        self.assertTrue(rl.try_acquire(0)[0])
        rl.pause_until(30000)
        self.assertEqual(rl.try_acquire(1000), (False, 29000))
        self.assertEqual(rl.try_acquire(29999), (False, 1))
        self.assertEqual(rl.try_acquire(30000), (True, 0))
        rl.close()

    def test_threads_never_over_grant(self):
        rl = RateLimiter(500, 60000)
        granted = []

        def worker():
            granted.append(sum(1 for _ in range(400) if rl.try_acquire(1000)[0]))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(sum(granted), 500)
        rl.close()

    def test_invalid(self):
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            RateLimiter(0, 1000)
        self.assertIn("requests", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            RateLimiter(1, 0)
        self.assertIn("period_ms", str(ctx.exception))


class KeyedRateLimiterTest(unittest.TestCase):
    def test_per_key_limits_and_full_table(self):
        with KeyedRateLimiter(1, 1000, max_keys=2) as k:
            self.assertEqual(k.try_acquire("genesys", 0), (True, 0))
            self.assertEqual(k.try_acquire("cxone", 0), (True, 0))
            self.assertEqual(k.try_acquire("genesys", 10), (False, 990))
            self.assertEqual(len(k), 2)
            with self.assertRaises(lifeline.FullError) as ctx:
                k.try_acquire("webhook", 500)
            self.assertIn("max_keys (2)", str(ctx.exception))
            self.assertEqual(k.try_acquire("webhook", 1000), (True, 0))
            k.pause_until("webhook", 5000)
            self.assertEqual(k.try_acquire("webhook", 2000), (False, 3000))
            with self.assertRaises(lifeline.InvalidArgumentError):
                k.try_acquire("", 0)


if __name__ == "__main__":
    unittest.main()
