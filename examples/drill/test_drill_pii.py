"""The issue-5 PII scan: run the whole drill (both halves, one audit trail),
then look for every phone number and email address the drill handed to the
library -- in the raw audit files (log, checkpoints, anything else in the
directory) and in everything the drill and the library printed. None may
appear in clear.

Run by CTest as examples/drill_pii with LIFELINE_DRILL set to the built drill.
"""

import os
import shutil
import subprocess
import unittest


class DrillPiiScanTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("LIFELINE_TEST_TMP", "/tmp")
        self.dir = os.path.join(base, "drill_pii_%d" % os.getpid())
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_no_phone_number_or_email_in_clear_after_a_full_drill(self):
        audit_dir = os.path.join(self.dir, "audit")
        pii_path = os.path.join(self.dir, "pii.txt")
        run = subprocess.run(
            [os.environ["LIFELINE_DRILL"], "--seed", "7", "--keep-audit", audit_dir, "--pii-list", pii_path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        output = run.stdout + run.stderr
        self.assertEqual(run.returncode, 0, output.decode(errors="replace")[-2000:])
        self.assertIn(b"Audit trail PASSED", run.stdout)

        with open(pii_path, encoding="utf-8") as f:
            used = [line.strip() for line in f if line.strip()]
        phones = [v for v in used if v.startswith("+")]
        emails = [v for v in used if "@" in v]
        # Both halves contributed: IVR callers and 300 stakeholders.
        self.assertGreater(len(phones), 300)
        self.assertGreaterEqual(len(emails), 300)

        files = {}
        for root, _, names in os.walk(audit_dir):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    files[path] = f.read()
        log = files.get(os.path.join(audit_dir, "audit.log"), b"")
        # The scan looks at the right bytes: records of both halves, sealed PII.
        self.assertIn(b'"CALLBACK_SUBMISSION"', log)
        self.assertIn(b'"ATTEMPT_SENT"', log)
        self.assertIn(b'"pii_enc"', log)

        for value in used:
            needle = value.encode()
            self.assertNotIn(needle, output, "printed in clear: " + value)
            for path, data in files.items():
                self.assertNotIn(needle, data, "in clear in " + path + ": " + value)


if __name__ == "__main__":
    unittest.main()
