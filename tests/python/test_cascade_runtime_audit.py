"""The cascade runtime records its events in a real audit log through
ctypes, and hands the same events to the host; a webhook receiver on
loopback plays the stakeholder's endpoint."""

import http.server
import itertools
import json
import os
import shutil
import threading
import unittest

import lifeline
from lifeline import audit

START = 1_795_000_000_000
KEYS = {"k1": bytes(range(16, 48)), "p1": bytes(range(112, 144)), "c1": bytes(range(160, 192))}
_counter = itertools.count()


class _Hook(http.server.BaseHTTPRequestHandler):
    lock = threading.Lock()
    bodies = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _Hook.lock:
            _Hook.bodies.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class CascadeRuntimeAuditTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d/hook" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        with _Hook.lock:
            _Hook.bodies = []
        base = os.environ.get("LIFELINE_TEST_TMP", "/tmp")
        self.dir = os.path.join(base, "py_rt_audit_%d_%d" % (os.getpid(), next(_counter)))
        shutil.rmtree(self.dir, ignore_errors=True)
        self.audit_config = {
            "dir": self.dir,
            "keys": {"provider": "callback", "data_key_id": "k1", "pseudonym_key_id": "p1",
                     "checkpoint_key_id": "c1"},
            "pii": {"subject": "encrypt"},
        }
        self.config = {
            "directory": {
                "members": [{"id": "alice", "channels": ["webhook"], "addresses": {"webhook": self.url}},
                            {"id": "mgr", "channels": ["webhook"], "addresses": {"webhook": self.url}}],
                "groups": [{"id": "ops", "members": ["alice"], "onCallManager": "mgr"}]},
            "audit": {"required": True},
        }

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_events_reach_the_audit_log_before_anything_is_sent(self):
        trigger = {"incidentId": "INC-7", "severity": "P1", "stakeholderGroupId": "ops",
                   "messageTemplate": "Outage", "timestamp": "2026-11-20T10:00:00Z"}
        with lifeline.Clock.manual(START) as clock, \
                audit.AuditLog(self.audit_config, key_callback=KEYS.get) as log, \
                lifeline.CascadeRuntime(self.config, clock=clock) as runtime:
            runtime.trigger(trigger)
            runtime.settle()
            # Audit is required and no log is attached yet: held, not sent.
            with _Hook.lock:
                self.assertEqual(_Hook.bodies, [])
            metrics = runtime.metrics()
            self.assertEqual(metrics["held_messages"], 1)
            self.assertGreater(metrics["audit_backlog"], 0)

            runtime.set_audit(log)
            runtime.settle()
            with _Hook.lock:
                self.assertEqual(len(_Hook.bodies), 1)
                self.assertEqual(_Hook.bodies[0]["incidentId"], "INC-7")
            metrics = runtime.metrics()
            self.assertEqual(metrics["held_messages"], 0)
            self.assertEqual(metrics["audit_backlog"], 0)
            self.assertGreater(metrics["audit_recorded"], 0)

            runtime.acknowledge("INC-7", "alice")
            runtime.settle()
            events = runtime.take_events()
            types = [e["type"] for e in events]
            self.assertEqual(types[0], "CASCADE_STARTED")
            self.assertIn("ATTEMPT_SENT", types)
            self.assertIn("STAKEHOLDER_ACKNOWLEDGED", types)
            self.assertEqual(runtime.take_events(), [])
            self.assertEqual(runtime.metrics()["audit_recorded"], len(events))

            out = os.path.join(self.dir, "inc7.jsonl")
            self.assertEqual(log.export(out, incident_id="INC-7"), len(events))
            self.assertTrue(log.verify()["ok"])
        with open(out, encoding="utf-8") as f:
            text = f.read()
        for name in ("CASCADE_STARTED", "ATTEMPT_SENT", "STAKEHOLDER_ACKNOWLEDGED"):
            self.assertIn('"event":"%s"' % name, text)
        self.assertNotIn('"alice"', text)  # the subject is PII: encrypted in the log

    def test_events_not_yet_audited_at_close_are_recovered_at_reopen(self):
        os.makedirs(self.dir, exist_ok=True)
        config = dict(self.config, store={"path": os.path.join(self.dir, "cascade.db")})
        trigger = {"incidentId": "INC-8", "severity": "P1", "stakeholderGroupId": "ops",
                   "messageTemplate": "Outage", "timestamp": "2026-11-20T10:00:00Z"}
        with lifeline.Clock.manual(START) as clock:
            # Audit required, no log attached: the events wait, then the host stops.
            with lifeline.CascadeRuntime(config, clock=clock) as runtime:
                runtime.trigger(trigger)
                runtime.settle()
                waiting = runtime.metrics()["audit_backlog"]
                self.assertGreater(waiting, 0)
                events = runtime.take_events()
                self.assertFalse(any(e["recovered"] for e in events))
                live = [e["type"] for e in events]
            with _Hook.lock:
                self.assertEqual(_Hook.bodies, [])
            clock.advance(5_000)
            with audit.AuditLog(self.audit_config, key_callback=KEYS.get) as log, \
                    lifeline.CascadeRuntime(config, clock=clock) as runtime:
                self.assertEqual(runtime.metrics()["recovered_events"], waiting)
                runtime.set_audit(log)
                runtime.settle()
                events = runtime.take_events()
                # First the recovered ones, as they were emitted before the
                # close; then the live ones (the held message's delivery).
                self.assertEqual([e["type"] for e in events[:waiting]], live)
                self.assertTrue(all(e["recovered"] for e in events[:waiting]))
                self.assertFalse(any(e["recovered"] for e in events[waiting:]))
                self.assertEqual(runtime.metrics()["audit_recorded"], len(events))
                with _Hook.lock:
                    self.assertEqual(len(_Hook.bodies), 1)  # the held message, now audited
                out = os.path.join(self.dir, "inc8.jsonl")
                self.assertEqual(log.export(out, incident_id="INC-8"), len(events))
            with lifeline.CascadeRuntime(config, clock=clock) as runtime:
                runtime.settle()
                self.assertEqual(runtime.take_events(), [])  # nothing left to recover
                self.assertEqual(runtime.metrics()["recovered_events"], 0)
        with open(out, encoding="utf-8") as f:
            lines = f.read().splitlines()
        records = [json.loads(line) for line in lines if '"event"' in line]
        self.assertEqual(["recovered=1" in r["detail"] for r in records[:waiting + 1]],
                         [True] * waiting + [False])

    def test_bad_arguments(self):
        with lifeline.Clock.manual(START) as clock, \
                lifeline.CascadeRuntime(dict(self.config, audit={"required": False}), clock=clock) as rt:
            rt.set_audit(None)
            self.assertEqual(rt.take_events(), [])
            with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
                lifeline.CascadeRuntime(dict(self.config, audit={"required": "yes"}), clock=clock)
            self.assertIn("audit.required", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
