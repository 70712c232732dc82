"""Time normalisation through ctypes. Expected instants come from the
published New York 2026 transitions (03-08 02:00 EST -> 03:00 EDT, 11-01
02:00 EDT -> 01:00 EST) by plain UTC arithmetic, and are cross-checked here
against Python's own zoneinfo where it applies."""

import datetime
import unittest

import lifeline
from lifeline import GapPolicy, LocalKind, OverlapPolicy

NY = "America/New_York"

WEEKDAYS = {
    "timeZone": NY,
    "weekly": {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-25"],
}


def utc_ms(*args):
    moment = datetime.datetime(*args, tzinfo=datetime.timezone.utc)
    return int(moment.timestamp()) * 1000


class Rfc3339Test(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(lifeline.parse_rfc3339("2026-03-08T02:30:00-05:00"),
                         utc_ms(2026, 3, 8, 7, 30))
        self.assertEqual(lifeline.parse_rfc3339("1969-12-31t23:59:59.9999z"), -1)
        self.assertEqual(lifeline.parse_rfc3339("2016-12-31T23:59:60.5Z"),
                         utc_ms(2016, 12, 31, 23, 59, 59) + 500)

    def test_parse_errors_name_the_position(self):
        for text, position in (("2026-03-08T07:30:00", 19),
                               ("2026-03-08T07:30:00+0100", 22),
                               ("2023-02-29T00:00:00Z", 8),
                               ("2026-03-08T24:00:00Z", 11),
                               (" 2026-03-08T07:30:00Z", 0),
                               ("2026-03-08T07:30:00Z\u00e9", 20)):
            with self.subTest(text=text):
                with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                    lifeline.parse_rfc3339(text)
                self.assertIn("position %d:" % position, str(ctx.exception))
                self.assertIsInstance(ctx.exception, ValueError)

    def test_format(self):
        self.assertEqual(lifeline.format_rfc3339(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(lifeline.format_rfc3339(-1), "1969-12-31T23:59:59.999Z")
        self.assertEqual(lifeline.format_rfc3339(-62135596800000), "0001-01-01T00:00:00.000Z")
        with self.assertRaises(lifeline.InvalidArgumentError):
            lifeline.format_rfc3339(253402300800000)

    def test_round_trip(self):
        for t in (-62135596800000, -1041337172130, -1, 0, 1772955000123, 253402300799999):
            self.assertEqual(lifeline.parse_rfc3339(lifeline.format_rfc3339(t)), t)


class LocalTimeTest(unittest.TestCase):
    def test_unique(self):
        self.assertEqual(lifeline.local_to_utc("2026-07-01T12:00", NY),
                         (utc_ms(2026, 7, 1, 16), LocalKind.UNIQUE))

    def test_gap_every_policy(self):
        with self.assertRaises(lifeline.NonexistentTimeError) as ctx:
            lifeline.local_to_utc("2026-03-08T02:30", NY)
        self.assertIn("America/New_York", str(ctx.exception))
        ms, kind = lifeline.local_to_utc("2026-03-08T02:30", NY, gap=GapPolicy.SHIFT_FORWARD)
        self.assertEqual((ms, kind), (utc_ms(2026, 3, 8, 7, 30), LocalKind.SHIFTED))
        self.assertIs(kind, LocalKind.SHIFTED)
        self.assertEqual(lifeline.local_to_utc("2026-03-08T02:30:00", NY,
                                               gap=GapPolicy.NEXT_VALID),
                         (utc_ms(2026, 3, 8, 7, 0), LocalKind.SHIFTED))

    def test_overlap_every_policy(self):
        with self.assertRaises(lifeline.AmbiguousTimeError):
            lifeline.local_to_utc("2026-11-01T01:30", NY)
        self.assertEqual(lifeline.local_to_utc("2026-11-01T01:30", NY,
                                               overlap=OverlapPolicy.EARLIEST),
                         (utc_ms(2026, 11, 1, 5, 30), LocalKind.AMBIGUOUS))
        self.assertEqual(lifeline.local_to_utc("2026-11-01T01:30", NY,
                                               overlap=OverlapPolicy.LATEST),
                         (utc_ms(2026, 11, 1, 6, 30), LocalKind.AMBIGUOUS))

    def test_shift_forward_matches_python_zoneinfo(self):
        # The issue defines SHIFT_FORWARD as what zoneinfo does with fold=0.
        try:
            from zoneinfo import ZoneInfo
        except ImportError:  # Python < 3.9
            self.skipTest("zoneinfo not available")
        for zone, local in ((NY, (2026, 3, 8, 2, 30)), ("Europe/London", (2026, 3, 29, 1, 15)),
                            ("Australia/Lord_Howe", (2026, 10, 4, 2, 15)),
                            ("America/Sao_Paulo", (2018, 11, 4, 0, 30))):
            with self.subTest(zone=zone):
                expected = int(datetime.datetime(*local, tzinfo=ZoneInfo(zone)).timestamp()) * 1000
                text = "%04d-%02d-%02dT%02d:%02d" % local
                self.assertEqual(lifeline.local_to_utc(text, zone, gap=GapPolicy.SHIFT_FORWARD),
                                 (expected, LocalKind.SHIFTED))

    def test_agrees_with_python_zoneinfo_1990_to_2060(self):
        self._check_against_zoneinfo(
            (NY, "Europe/London", "Europe/Dublin", "Australia/Lord_Howe", "America/Sao_Paulo",
             "Pacific/Apia", "Africa/Casablanca", "Asia/Kathmandu"), 1990, 2060)

    def test_agrees_with_python_zoneinfo_across_2100(self):
        # Lifeline's tables hold rule transitions through 2100, then the rule
        # is evaluated on the fly.
        self._check_against_zoneinfo(
            (NY, "Europe/Dublin", "Australia/Lord_Howe"), 2095, 2106)

    @staticmethod
    def _offset_changes(info, first, last):
        """UTC instants in [first, last) at which zone ``info`` changes its
        offset, found with zoneinfo alone (weekly scan, then bisection)."""
        def offset(moment):
            return moment.astimezone(info).utcoffset()
        changes = []
        week = datetime.timedelta(days=7)
        t = first
        while t < last:
            if offset(t) != offset(t + week):
                lo, hi = t, t + week
                while hi - lo > datetime.timedelta(seconds=1):
                    mid = lo + (hi - lo) / 2
                    mid = mid.replace(microsecond=0)
                    if offset(mid) == offset(lo):
                        lo = mid
                    else:
                        hi = mid
                changes.append(hi)
                t = hi
                continue
            t += week
        return changes

    def _check_against_zoneinfo(self, zones, first_year, last_year):
        # zoneinfo is an independent reader of the same tz database (TZif
        # data and POSIX footer rules): fold=0 is SHIFT_FORWARD in a gap and
        # EARLIEST in an overlap, fold=1 is LATEST in an overlap. Checked
        # every 15 minutes from two hours before to two hours after each
        # offset change, plus a sparse walk through every hour of the day.
        try:
            from zoneinfo import ZoneInfo
        except ImportError:  # Python < 3.9
            self.skipTest("zoneinfo not available")
        utc = datetime.timezone.utc
        first = datetime.datetime(first_year, 1, 1, tzinfo=utc)
        last = datetime.datetime(last_year, 1, 1, tzinfo=utc)
        for zone in zones:
            info = ZoneInfo(zone)
            samples = []
            for change in self._offset_changes(info, first, last):
                before = (change - datetime.timedelta(seconds=1)).astimezone(info)
                after = change.astimezone(info)
                local = (min(before, after).replace(tzinfo=None, second=0, microsecond=0)
                         - datetime.timedelta(hours=2))
                end = max(before, after).replace(tzinfo=None) + datetime.timedelta(hours=2)
                while local <= end:
                    samples.append(local)
                    local += datetime.timedelta(minutes=15)
            local = first.replace(tzinfo=None)
            while local < last.replace(tzinfo=None):
                samples.append(local)
                local += datetime.timedelta(hours=61, minutes=7)
            kinds = set()
            for local in samples:
                text = local.strftime("%Y-%m-%dT%H:%M:%S")
                aware = local.replace(tzinfo=info)
                # In a gap zoneinfo's fold=1 uses the offset after the
                # transition, which is not one of our policies: skip it.
                in_gap = aware.astimezone(utc).astimezone(info).replace(tzinfo=None) != local
                folds = ((0, OverlapPolicy.EARLIEST),) if in_gap else (
                    (0, OverlapPolicy.EARLIEST), (1, OverlapPolicy.LATEST))
                for fold, overlap in folds:
                    expected = int(local.replace(tzinfo=info, fold=fold).timestamp()) * 1000
                    got, kind = lifeline.local_to_utc(text, zone, gap=GapPolicy.SHIFT_FORWARD,
                                                      overlap=overlap)
                    kinds.add(kind)
                    if got != expected:
                        self.fail("%s %s fold=%d: %d != zoneinfo %d"
                                  % (zone, text, fold, got, expected))
                    back = datetime.datetime.fromtimestamp(expected // 1000, info)
                    _, seconds, abbrev = lifeline.utc_to_local(expected, zone)
                    self.assertEqual(seconds, int(back.utcoffset().total_seconds()), (zone, text))
                    self.assertEqual(abbrev, back.tzname(), (zone, text))
            if zone == "Asia/Kathmandu":  # one change, 1986, before the range
                self.assertEqual(kinds, {LocalKind.UNIQUE})
            else:
                self.assertEqual(kinds, set(LocalKind), zone)

    def test_bad_arguments(self):
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            lifeline.local_to_utc("2026-03-08T02:30Z", NY)
        self.assertIn("position 16", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError):
            lifeline.local_to_utc("2026-02-30T02:30", NY)
        with self.assertRaises(lifeline.NotFoundError) as ctx:
            lifeline.local_to_utc("2026-03-08T02:30", "Mars/Olympus_Mons")
        self.assertIsInstance(ctx.exception, LookupError)
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            lifeline.local_to_utc("2026-03-08T02:30", NY, gap=7)
        self.assertIn("gap_policy", str(ctx.exception))

    def test_utc_to_local(self):
        self.assertEqual(lifeline.utc_to_local(utc_ms(2026, 3, 8, 7, 0), NY),
                         ("2026-03-08T03:00:00", -14400, "EDT"))
        self.assertEqual(lifeline.utc_to_local(utc_ms(2026, 3, 8, 7, 0) - 1, NY),
                         ("2026-03-08T01:59:59", -18000, "EST"))
        self.assertEqual(lifeline.utc_to_local(utc_ms(2026, 1, 15, 12), "Europe/Dublin"),
                         ("2026-01-15T12:00:00", 0, "GMT"))
        with self.assertRaises(lifeline.NotFoundError):
            lifeline.utc_to_local(0, "Nowhere/Zone")


class BusinessHoursTest(unittest.TestCase):
    def test_next_open_across_dst_weekend(self):
        with lifeline.BusinessHours(WEEKDAYS) as hours:
            saturday_noon = utc_ms(2026, 3, 7, 17)  # 12:00 EST
            self.assertFalse(hours.is_open(saturday_noon))
            monday_eight = utc_ms(2026, 3, 9, 12)  # 08:00 EDT
            self.assertEqual(hours.next_open(saturday_noon), monday_eight)
            self.assertTrue(hours.is_open(monday_eight))
            self.assertFalse(hours.is_open(monday_eight - 1))
        self.assertTrue(hours.closed)
        with self.assertRaises(lifeline.StateError):
            hours.is_open(0)

    def test_holiday_and_json_string(self):
        import json
        hours = lifeline.BusinessHours(json.dumps(WEEKDAYS))
        # Thursday 2026-12-24 20:00 EST -> Friday is a holiday -> Monday 08:00 EST.
        self.assertEqual(hours.next_open(utc_ms(2026, 12, 25, 1)), utc_ms(2026, 12, 28, 13))
        hours.close()
        hours.close()

    def test_never_open(self):
        hours = lifeline.BusinessHours({"timeZone": "UTC", "weekly": {}})
        with self.assertRaises(lifeline.NotFoundError) as ctx:
            hours.next_open(0)
        self.assertIn("never open", str(ctx.exception))

    def test_bad_spec_names_the_key(self):
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            lifeline.BusinessHours({"timeZone": NY, "weekly": {"mon": [["08:00", "25:00"]]}})
        self.assertIn("weekly.mon[0][1]", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            lifeline.BusinessHours({"timeZone": NY, "weekly": {}, "timezone": "UTC"})
        self.assertIn("unknown key 'timezone'", str(ctx.exception))
        with self.assertRaises(lifeline.NotFoundError):
            lifeline.BusinessHours({"timeZone": "Nowhere/Zone", "weekly": {}})


if __name__ == "__main__":
    unittest.main()
