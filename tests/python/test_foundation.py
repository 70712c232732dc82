"""The foundation through ctypes: loading, version, errors, the clock."""

import unittest

import lifeline


class FoundationTest(unittest.TestCase):
    def test_version_matches_package(self):
        self.assertEqual(lifeline.version(), lifeline.__version__)

    def test_status_str(self):
        self.assertEqual(lifeline.status_str(0), "ok")
        self.assertEqual(lifeline.status_str(3), "not found")

    def test_manual_clock(self):
        with lifeline.Clock.manual(1000) as clock:
            clock.advance(500)
            self.assertEqual(clock.now(), 1500)
            with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                clock.advance(-1)
            self.assertIn("delta_ms", str(ctx.exception))
            self.assertIsInstance(ctx.exception, ValueError)
            with self.assertRaises(lifeline.InvalidArgumentError):
                clock.set(10)
        with self.assertRaises(lifeline.StateError):
            clock.now()

    def test_system_clock_cannot_be_advanced(self):
        clock = lifeline.Clock.system()
        self.assertGreater(clock.now(), 1_700_000_000_000)
        with self.assertRaises(lifeline.StateError):
            clock.advance(1)
        clock.close()
        clock.close()  # closing twice is harmless


if __name__ == "__main__":
    unittest.main()
