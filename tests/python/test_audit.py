"""The audit trail through ctypes, and an independent check of its format.

The chain is re-verified here with nothing but hashlib, following
docs/audit.md, so the documented format is what the library writes."""

import hashlib
import hmac
import itertools
import json
import os
import shutil
import unittest

import lifeline
from lifeline import audit

T0 = 1716215520000  # 2024-05-20T14:32:00Z
DAY = 86400000
KEYS = {"k1": bytes(range(16, 48)), "k2": bytes(range(64, 96)),
        "p1": bytes(range(112, 144)), "c1": bytes(range(160, 192))}
_counter = itertools.count()


def fetch_key(key_id):
    return KEYS.get(key_id)


def officer(role, credential):
    return role == "compliance_officer" and credential == "co-secret"


def event(i, time=None):
    return {"source": "ivr" if i % 3 == 0 else "cascade",
            "time": time if time is not None else T0 + i * 1000,
            "incidentId": "INC-%d" % (i % 3), "subject": "stk-%d" % i,
            "channel": "sms", "event": "DELIVERY_ATTEMPT", "status": "DELIVERED",
            "providerId": "twilio", "detail": "attempt %d" % i,
            "pii": {"phone": "+1555%07d" % (2000000 + i),
                    "email": "py%d@example.org" % i}}


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def pii_lines(path):
    return [json.loads(l) for l in read_text(path).splitlines() if l.startswith('{"type":"pii"')]


def independent_verify(lines):
    """Re-checks every record's hash and link with hashlib only."""
    prev = "0" * 64
    for n, line in enumerate(lines, start=1):
        cut = line.rindex(',"prev_hash":"')
        content = line[:cut] + "}"
        record = json.loads(line)
        assert record["seq"] == n, (record["seq"], n)
        assert record["prev_hash"] == prev
        digest = hashlib.sha256(content.encode("utf-8")).digest()
        expected = hashlib.sha256(bytes.fromhex(prev) + digest).hexdigest()
        assert record["hash"] == expected, "seq %d" % n
        assert list(record)[:12] == ["seq", "time", "source", "incidentId", "callId", "subject",
                                     "channel", "event", "status", "providerId", "detail", "pii"]
        prev = record["hash"]
    return prev


# The standalone export check from docs/audit.md ("How a compliance officer
# verifies an export"), verbatim: only hashlib, hmac and json.
def verify_export_standalone(path, checkpoint_key):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if json.loads(lines[0]).get("type") != "export":
        raise ValueError("not a Lifeline audit export")
    head, seq, closed, ended = None, None, False, False
    for line in lines[1:]:
        if ended:
            raise ValueError("lines after the end line")
        if line.startswith('{"seq":'):
            record = json.loads(line)
            cut = line.rindex(',"prev_hash":"')
            digest = hashlib.sha256((line[:cut] + "}").encode("utf-8")).digest()
            if head is None:
                head, seq = record["prev_hash"], record["seq"]
            if record["seq"] != seq or record["prev_hash"] != head:
                raise ValueError("seq %d: out of order or link broken" % seq)
            head = hashlib.sha256(bytes.fromhex(head) + digest).hexdigest()
            if head != record["hash"]:
                raise ValueError("seq %d: edited" % seq)
            seq += 1
            continue
        item = json.loads(line)
        if item["type"] == "link":
            if item["seq"] != seq:
                raise ValueError("seq %d: missing" % seq)
            head = hashlib.sha256(bytes.fromhex(head) + bytes.fromhex(item["digest"])).hexdigest()
            seq += 1
        elif item["type"] == "checkpoint":
            message = "lifeline-audit-checkpoint/v1\n%d\n%s" % (item["seq"], item["hash"])
            mac = hmac.new(checkpoint_key, message.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(mac, item["mac"]):
                raise ValueError("checkpoint MAC does not verify")
            if item["seq"] != seq - 1 or item["hash"] != head:
                raise ValueError("the chain does not end at the checkpoint")
            closed = True
        elif item["type"] == "end":
            ended = True
    if not ended or (head is not None and not closed):
        raise ValueError("truncated export")
    return seq - 1 if seq is not None else 0


class AuditTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("LIFELINE_TEST_TMP", "/tmp")
        self.dir = os.path.join(base, "py_audit_%d_%d" % (os.getpid(), next(_counter)))
        shutil.rmtree(self.dir, ignore_errors=True)
        self.config = {
            "dir": self.dir,
            "keys": {"provider": "callback", "data_key_id": "k1", "pseudonym_key_id": "p1",
                     "checkpoint_key_id": "c1"},
            "pii": {"phone": "encrypt", "email": "encrypt", "subject": "plain"},
            "checkpoint_every": 5,
            "segment_max_records": 4,
        }

    def open(self, **kwargs):
        return audit.AuditLog(self.config, key_callback=fetch_key, **kwargs)

    def live_lines(self):
        return read_text(os.path.join(self.dir, "audit.log")).splitlines()

    def test_append_verify_reopen_and_independent_check(self):
        with self.open() as log:
            for i in range(12):
                log.append(event(i))
            log.append_batch([event(12), event(13)])
            seq, head = log.head()
            self.assertEqual(seq, 14)
            report = log.verify()
            self.assertTrue(report["ok"])
            self.assertEqual(report["kind"], "ok")
            self.assertEqual(report["records"], 14)
        self.assertTrue(log.closed)
        log.close()  # harmless twice
        self.assertEqual(independent_verify(self.live_lines()), head)
        with self.open() as log:
            self.assertEqual(log.head(), (14, head))
            log.append(event(14))
        report = audit.verify_dir(self.config, key_callback=fetch_key)
        self.assertTrue(report["ok"])
        self.assertEqual(report["records"], 15)
        self.assertEqual(report["checkpoints"], 4)  # 5, 10, 14 on close, 15

    def test_tampering_is_named(self):
        with self.open() as log:
            for i in range(8):
                log.append(event(i))
        path = os.path.join(self.dir, "audit.log")
        lines = self.live_lines()
        swapped = list(lines)
        swapped[2], swapped[5] = swapped[5], swapped[2]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(swapped) + "\n")
        report = audit.verify_dir(self.config, key_callback=fetch_key)
        self.assertFalse(report["ok"])
        self.assertEqual((report["kind"], report["first_bad_seq"]), ("reordered", 3))
        edited = list(lines)
        edited[6] = edited[6].replace('"status":"DELIVERED"', '"status":"FAILED"')
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(edited) + "\n")
        report = audit.verify_dir(self.config, key_callback=fetch_key)
        self.assertEqual((report["kind"], report["first_bad_seq"]), ("edited", 7))
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:5]) + "\n")
        report = audit.verify_dir(self.config, key_callback=fetch_key)
        self.assertEqual((report["kind"], report["first_bad_seq"]), ("truncated", 6))
        with self.assertRaises(lifeline.StateError) as ctx:
            self.open()
        self.assertIn("truncated", str(ctx.exception))

    def test_pii_protected_and_role_gated_export(self):
        with self.open(credential_verifier=officer) as log:
            for i in range(9):
                log.append(event(i))
            raw = read_text(os.path.join(self.dir, "audit.log"))
            for i in range(9):
                self.assertNotIn("+1555%07d" % (2000000 + i), raw)
                self.assertNotIn("py%d@example.org" % i, raw)
            plain_export = os.path.join(self.dir, "plain.jsonl")
            self.assertEqual(log.export(plain_export, incident_id="INC-1", role="analyst"), 3)
            text = read_text(plain_export)
            self.assertNotIn("+1555", text)
            self.assertNotIn('"type":"pii"', text)
            self.assertIn('"psn":"p1:', text)
            clear_export = os.path.join(self.dir, "clear.jsonl")
            self.assertEqual(log.export(clear_export, incident_id="INC-1", role="compliance_officer",
                                        credential="co-secret", now_ms=T0 + DAY), 3)
            pii = pii_lines(clear_export)
            self.assertEqual([p["fields"]["phone"] for p in pii],
                             ["+1555%07d" % (2000000 + i) for i in (1, 4, 7)])
            with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                log.export(clear_export, role="bcp_admin", credential="nope")
            self.assertIn("was not accepted", str(ctx.exception))
        for path in (plain_export, clear_export):
            report = audit.verify_export(path, self.config, key_callback=fetch_key)
            self.assertTrue(report["ok"], report)
            # The documented standalone check agrees, and catches an edit.
            self.assertEqual(verify_export_standalone(path, KEYS["c1"]), report["last_seq"])
        text = read_text(plain_export)
        with open(plain_export, "w", encoding="utf-8") as f:
            f.write(text.replace('"status":"DELIVERED"', '"status":"FAILED"', 1))
        with self.assertRaises(ValueError):
            verify_export_standalone(plain_export, KEYS["c1"])
        self.assertEqual(audit.verify_export(plain_export, self.config, fetch_key)["kind"], "edited")

    def test_retention_with_a_manual_clock(self):
        with lifeline.Clock.manual(T0) as clock, self.open() as log:
            for i in range(20):
                log.append(event(i, time=T0 + i * 10 * DAY))
            clock.set(T0 + 300 * DAY)
            self.assertEqual(log.archive(clock.now()), 12)
            self.assertEqual(log.archive(clock.now()), 0)
            report = log.verify()
            self.assertTrue(report["ok"])
            self.assertEqual(report["segments"], 3)
            out = os.path.join(self.dir, "inc.jsonl")
            self.assertEqual(log.export(out, incident_id="INC-2"), 6)
        self.assertTrue(audit.verify_export(out, self.config, fetch_key)["ok"])

    def test_purge_archive_with_a_manual_clock(self):
        def admin(role, credential):
            return role == "bcp_admin" and credential == "admin-secret"

        with lifeline.Clock.manual(T0) as clock, self.open(credential_verifier=admin) as log:
            for i in range(20):
                log.append(event(i, time=T0 + i * 10 * DAY))
            clock.set(T0 + 300 * DAY)
            self.assertEqual(log.archive(clock.now()), 12)  # segments 1-4, 5-8, 9-12
            with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                log.purge_archive(T0 + 45 * DAY, "compliance_officer", "co-secret", clock.now())
            self.assertIn("requires the role 'bcp_admin'", str(ctx.exception))
            with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                log.purge_archive(T0 + 121 * DAY, "bcp_admin", "admin-secret", clock.now())
            self.assertIn("is inside the retention period", str(ctx.exception))
            # Days 0-30 go; segment 5-8 holds day 70 and stays.
            self.assertEqual(
                log.purge_archive(T0 + 45 * DAY, "bcp_admin", "admin-secret", clock.now()),
                {"segments": 1, "records": 4})
            self.assertEqual(
                log.purge_archive(T0 + 45 * DAY, "bcp_admin", "admin-secret", clock.now()),
                {"segments": 0, "records": 0})
            report = log.verify()
            self.assertTrue(report["ok"], report)
            self.assertEqual((report["purged_segments"], report["purged_through"]), (1, 4))
            self.assertEqual(report["first_seq"], 5)
            # 20 events, the refused attempt, the purge.
            self.assertEqual(log.head()[0], 22)
        archive = os.path.join(self.dir, "archive")
        self.assertFalse(any(name.startswith("seg-00000000000000000001-")
                             for name in os.listdir(archive)))
        manifest = os.path.join(archive, "purged.jsonl")
        entry = json.loads(read_text(manifest))
        self.assertEqual((entry["first_seq"], entry["last_seq"], entry["audit_seq"]), (1, 4, 22))
        entry["cutoff"] = "2024-01-01T00:00:00.000Z"
        with open(manifest, "w", encoding="utf-8") as f:
            f.write(json.dumps(entry, separators=(",", ":")) + "\n")
        report = audit.verify_dir(self.config, key_callback=fetch_key)
        self.assertEqual((report["kind"], report["first_bad_seq"]), ("bad_purge_manifest", 1))
        self.assertIn("fails its MAC", report["message"])
        with self.assertRaises(lifeline.StateError):
            self.open()

    def test_errors_are_exceptions_with_clear_messages(self):
        bad = dict(self.config, colour="red")
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            audit.AuditLog(bad, key_callback=fetch_key)
        self.assertIn("config: unknown key 'colour'", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError):
            audit.AuditLog(self.config)  # provider "callback" without a callback
        with self.assertRaises(lifeline.NotFoundError) as ctx:
            audit.AuditLog(self.config, key_callback=lambda key_id: None)
        self.assertIn("key 'k1'", str(ctx.exception))
        with self.open() as log:
            with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                log.append({"source": "ivr"})
            self.assertIn("event_json.time is required", str(ctx.exception))
            with self.assertRaises(lifeline.InvalidArgumentError):
                log.append({"source": "ivr", "time": T0, "pii": {"Phone": "x"}})
            with self.assertRaises(lifeline.UnavailableError):
                self.open()  # already open
        with self.assertRaises(lifeline.StateError):
            log.append(event(1))

    def test_env_key_provider_and_rotation(self):
        for key_id, key in KEYS.items():
            os.environ["LIFELINE_AUDIT_KEY_" + key_id.upper()] = key.hex()
        config = dict(self.config, keys=dict(self.config["keys"], provider="env"))
        with audit.AuditLog(config, credential_verifier=officer) as log:
            log.append(event(1))
            log.rotate_data_key("k2")
            log.append(event(2))
            out = os.path.join(self.dir, "rot.jsonl")
            log.export(out, role="compliance_officer", credential="co-secret")
        fields = [p["fields"] for p in pii_lines(out)]
        self.assertEqual([f["phone"] for f in fields], ["+15552000001", "+15552000002"])
        records = [json.loads(l) for l in self.live_lines()[:2]]
        # One sealed message per record, naming its key id; no per-field ciphertext.
        self.assertEqual([r["pii_enc"][:3] for r in records], ["k1:", "k2:"])
        self.assertEqual([sorted(r["pii"]["phone"]) for r in records], [["psn"], ["psn"]])
        self.assertEqual(
            [audit.lib.lifeline_audit_finding_str(i).decode() for i in range(8)],
            list(audit.FINDINGS))


if __name__ == "__main__":
    unittest.main()
