"""lifeline-audit against a log written through the Python bindings."""

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import unittest

from lifeline import audit

T0 = 1716215520000
DAY = 86400000
CLI = os.environ.get("LIFELINE_AUDIT_CLI", "lifeline-audit")
KEYS = {"K1": bytes(range(16, 48)), "P1": bytes(range(112, 144)), "C1": bytes(range(160, 192))}
_counter = itertools.count()


def run(*args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=full_env,
                          check=False)
    return proc.returncode, proc.stdout, proc.stderr


class AuditCliTest(unittest.TestCase):
    def setUp(self):
        for key_id, key in KEYS.items():
            os.environ["LIFELINE_CLI_KEY_" + key_id] = key.hex()
        base = os.environ.get("LIFELINE_TEST_TMP", "/tmp")
        self.dir = os.path.join(base, "cli_audit_%d_%d" % (os.getpid(), next(_counter)))
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.config = {"dir": os.path.join(self.dir, "log"),
                       "keys": {"provider": "env", "env_prefix": "LIFELINE_CLI_KEY_",
                                "data_key_id": "k1", "pseudonym_key_id": "p1",
                                "checkpoint_key_id": "c1"},
                       "pii": {"phone": "encrypt"}, "segment_max_records": 3}
        self.config_path = os.path.join(self.dir, "config.json")
        with open(self.config_path, "w", encoding="utf-8") as f:
            json.dump(self.config, f)
        with audit.AuditLog(self.config) as log:
            for i in range(10):
                log.append({"source": "cascade", "time": T0 + i * 30 * DAY,
                            "incidentId": "INC-%d" % (i % 2), "event": "DELIVERY_ATTEMPT",
                            "pii": {"phone": "+1555300%04d" % i}})

    def test_verify_archive_export(self):
        code, out, err = run("verify", "--config", self.config_path)
        self.assertEqual(code, 0, err)
        self.assertTrue(json.loads(out)["ok"])

        code, out, err = run("archive", "--config", self.config_path,
                             "--now", "2025-05-20T14:32:00.000Z")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out), {"archived": 7})  # older than 180 days

        export = os.path.join(self.dir, "inc0.jsonl")
        code, out, err = run("export", "--config", self.config_path, "--out", export,
                             "--incident", "INC-0")
        self.assertEqual(code, 0, err)
        summary = json.loads(out)
        self.assertEqual((summary["records"], summary["decrypted"]), (5, False))
        with open(export, encoding="utf-8") as f:
            self.assertNotIn("+1555300", f.read())
        code, out, err = run("verify-export", "--config", self.config_path, "--export", export)
        self.assertEqual(code, 0, err)
        self.assertTrue(json.loads(out)["ok"])

    def test_role_gated_export(self):
        creds = os.path.join(self.dir, "creds.json")
        with open(creds, "w", encoding="utf-8") as f:
            json.dump({"compliance_officer": hashlib.sha256(b"s3cret").hexdigest()}, f)
        os.chmod(creds, 0o644)
        export = os.path.join(self.dir, "clear.jsonl")
        args = ("export", "--config", self.config_path, "--out", export,
                "--role", "compliance_officer", "--credentials-file", creds)
        code, _, err = run(*args, env={"LIFELINE_AUDIT_CREDENTIAL": "s3cret"})
        self.assertEqual(code, 2)
        self.assertIn("chmod 600", err)
        os.chmod(creds, 0o600)
        code, _, err = run(*args, env={"LIFELINE_AUDIT_CREDENTIAL": "wrong"})
        self.assertEqual(code, 2)
        self.assertIn("was not accepted", err)
        code, out, err = run(*args, env={"LIFELINE_AUDIT_CREDENTIAL": "s3cret"})
        self.assertEqual(code, 0, err)
        self.assertTrue(json.loads(out)["decrypted"])
        with open(export, encoding="utf-8") as f:
            self.assertIn("+15553000007", f.read())

    def test_purge(self):
        # 10 events 30 days apart; archived at 2025-05-20 (day 365): seqs 1-7
        # (days 0-180) in segments of 3: 1-3, 4-6, 7-7.
        code, out, err = run("archive", "--config", self.config_path,
                             "--now", "2025-05-20T14:32:00.000Z")
        self.assertEqual(code, 0, err)
        creds = os.path.join(self.dir, "creds.json")
        with open(creds, "w", encoding="utf-8") as f:
            json.dump({"bcp_admin": hashlib.sha256(b"adm1n").hexdigest()}, f)
        os.chmod(creds, 0o600)
        args = ("purge", "--config", self.config_path, "--credentials-file", creds,
                "--now", "2025-05-20T14:32:00.000Z")
        admin = {"LIFELINE_AUDIT_CREDENTIAL": "adm1n"}
        # Inside the retention period (after 2024-11-21): refused.
        code, _, err = run(*(args + ("--before", "2024-12-01T00:00:00.000Z")), env=admin)
        self.assertEqual(code, 2)
        self.assertIn("is inside the retention period", err)
        code, _, err = run(*(args + ("--before", "2024-08-01T00:00:00.000Z")),
                           env={"LIFELINE_AUDIT_CREDENTIAL": "wrong"})
        self.assertEqual(code, 2)
        self.assertIn("the credential for role 'bcp_admin' was not accepted", err)
        # Days 0-150 before 2024-10-25 (day 158): segments 1-3 and 4-6 go.
        code, out, err = run(*(args + ("--before", "2024-10-25T00:00:00.000Z")), env=admin)
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out), {"segments": 2, "records": 6, "first_seq": 1,
                                           "last_seq": 6, "audit_seq": 12})
        code, out, err = run(*(args + ("--before", "2024-10-25T00:00:00.000Z")), env=admin)
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["segments"], 0)
        code, out, err = run("verify", "--config", self.config_path)
        self.assertEqual(code, 0, err)
        report = json.loads(out)
        self.assertEqual((report["purged_segments"], report["purged_through"]), (2, 6))
        # A purge needs the credentials file, and --before.
        code, _, err = run("purge", "--config", self.config_path, "--before", "0", env=admin)
        self.assertEqual(code, 2)
        self.assertIn("usage", err)
        # The manifest tampered with: damage (exit 1), named.
        manifest = os.path.join(self.dir, "log", "archive", "purged.jsonl")
        with open(manifest, encoding="utf-8") as f:
            lines = f.read().splitlines()
        with open(manifest, "w", encoding="utf-8") as f:
            f.write(lines[1] + "\n")
        code, out, _ = run("verify", "--config", self.config_path)
        self.assertEqual(code, 1)
        report = json.loads(out)
        self.assertEqual((report["kind"], report["first_bad_seq"]), ("bad_purge_manifest", 1))

    def test_tampering_exits_1_and_names_the_seq(self):
        path = os.path.join(self.dir, "log", "audit.log")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        del lines[3]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        code, out, _ = run("verify", "--config", self.config_path)
        self.assertEqual(code, 1)
        report = json.loads(out)
        self.assertEqual((report["kind"], report["first_bad_seq"]), ("deleted", 4))

    def test_usage_errors(self):
        code, _, err = run("verify")
        self.assertEqual(code, 2)
        self.assertIn("usage", err)
        code, _, err = run("frobnicate", "--config", self.config_path)
        self.assertEqual(code, 2)
        code, _, err = run("archive", "--config", self.config_path, "--now", "soon")
        self.assertEqual(code, 2)
        self.assertIn("--now is not a time", err)


if __name__ == "__main__":
    unittest.main()
