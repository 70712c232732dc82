"""The notification cascade through the Python bindings, on simulated time."""

import unittest

import lifeline
from lifeline import AttemptStatus, Cascade, SendResult

T0 = 1716215520000  # 2024-05-20T14:32:00Z

DIRECTORY = {
    "members": [
        {"id": "alice", "channels": ["sms", "email"],
         "addresses": {"sms": "+12125550101", "email": "a@example.com"}},
        {"id": "bob", "channels": ["sms"], "addresses": {"sms": "+12125550102"}},
        {"id": "mgr", "addresses": {"voice": "+12125550199"}},
    ],
    "groups": [{"id": "ops", "members": ["alice", "bob"], "onCallManager": "mgr",
                "ackPolicy": "all"}],
}


def trigger(incident="INC-1", severity="P1"):
    return {"incidentId": incident, "severity": severity, "stakeholderGroupId": "ops",
            "messageTemplate": "Outage at {{site}}", "timestamp": "2024-05-20T14:32:00Z",
            "variables": {"site": "DC-East"}}


class CascadeTest(unittest.TestCase):
    def setUp(self):
        self.engine = Cascade(DIRECTORY, now_ms=T0)

    def tearDown(self):
        self.engine.close()

    def test_trigger_send_receipt_ack(self):
        self.assertFalse(self.engine.trigger(trigger(), T0))
        self.assertTrue(self.engine.trigger(trigger(), T0 + 1))  # idempotent
        out = self.engine.take_outbound(T0)
        self.assertEqual(sorted(m["memberId"] for m in out), ["alice", "bob"])
        self.assertEqual({m["channel"] for m in out}, {"sms"})
        self.assertEqual(out[0]["text"], "Outage at DC-East")
        by = {m["memberId"]: m for m in out}
        self.engine.on_send_result(by["alice"]["messageId"], SendResult.ACCEPTED, T0,
                                   provider_ref="SM-a")
        self.engine.on_send_result(by["bob"]["messageId"], SendResult.ACCEPTED, T0)
        self.assertEqual(self.engine.next_deadline(), T0 + 120000)
        self.engine.on_provider_receipt("SM-a", AttemptStatus.DELIVERED, T0 + 1000)
        self.engine.on_provider_receipt("SM-a", AttemptStatus.PENDING, T0 + 1001)  # ignored
        self.engine.on_receipt(by["bob"]["messageId"], AttemptStatus.ACKNOWLEDGED, T0 + 2000)
        state = self.engine.state("INC-1")
        members = {s["memberId"]: s for s in state["stakeholders"]}
        self.assertTrue(members["bob"]["acknowledged"])
        self.assertEqual(members["alice"]["nextEscalationTimestamp"], T0 + 91000)
        self.assertEqual(members["alice"]["attempts"][0]["status"], "DELIVERED")
        self.assertEqual(state["status"], "ACTIVE")
        # The hold time passes: email goes out.
        self.engine.on_timer(T0 + 91000)
        out = self.engine.take_outbound(T0 + 91000)
        self.assertEqual([m["channel"] for m in out], ["email"])
        self.engine.acknowledge("INC-1", "alice", T0 + 95000)
        self.assertEqual(self.engine.state("INC-1")["status"], "SATISFIED")
        self.assertIsNone(self.engine.next_deadline())
        types = [e["type"] for e in self.engine.take_events()]
        self.assertIn("RECEIPT_IGNORED", types)
        self.assertIn("GROUP_ACKNOWLEDGED", types)
        self.assertEqual(self.engine.take_events(), [])

    def test_large_outbound_grows_the_buffer(self):
        members = [{"id": "m%d" % i, "addresses": {"sms": "+1555000%04d" % i}}
                   for i in range(60)]
        directory = {"members": members,
                     "groups": [{"id": "ops", "members": [m["id"] for m in members]}]}
        with Cascade(directory, {"throttle": {"limit": 50}}, now_ms=T0) as engine:
            engine.trigger(trigger(), T0)
            self.assertEqual(len(engine.take_outbound(T0)), 50)   # the endpoint's limit
            self.assertEqual(len(engine.take_outbound(T0)), 0)
            self.assertEqual(engine.next_deadline(), T0 + 1000)
            self.assertEqual(len(engine.take_outbound(T0 + 1000)), 10)

    def test_errors_are_typed(self):
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            self.engine.trigger({"incidentId": "x"}, T0)
        self.assertIn("severity: required", str(ctx.exception))
        with self.assertRaises(lifeline.NotFoundError):
            self.engine.trigger(dict(trigger(), stakeholderGroupId="nobody"), T0)
        with self.assertRaises(lifeline.NotFoundError):
            self.engine.state("nope")
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            Cascade(DIRECTORY, {"hold_ms": {"P9": 1}}, now_ms=T0)
        self.assertIn("config_json: hold_ms.P9: unknown configuration key", str(ctx.exception))
        self.engine.close()
        with self.assertRaises(lifeline.StateError):
            self.engine.on_timer(T0)


if __name__ == "__main__":
    unittest.main()
