"""Cascade voice through the host's PBX, through ctypes, on a manual clock: a
Python callable is the PBX originator; outcomes come back with
voice_result. Digit 1 acknowledges (no SMS follows); no answer retries then
moves to SMS; trunks busy is offered again after the retry-after; an
exception or a bogus answer in the callable becomes FAILED and never reaches
C; a result may be reported from inside the callable; argument errors raise
the exceptions of lifeline.errors. SMS goes to a loopback port where nothing
listens (the attempts appear in the state; nothing is delivered)."""

import threading
import unittest

import lifeline
from lifeline.cascade_runtime import OriginateAnswer, VoiceCall, VoiceResult

START = 1_716_215_520_000  # 2024-05-20T14:32:00Z

DIRECTORY = {
    "members": [
        {"id": "alice", "channels": ["voice", "sms"],
         "addresses": {"voice": "+12125550101", "sms": "+12125550111"}},
        {"id": "mgr", "channels": ["voice"], "addresses": {"voice": "+12125550199"}},
    ],
    "groups": [{"id": "ops", "members": ["alice"], "onCallManager": "mgr"}],
}


def config(voice=None):
    return {
        "directory": DIRECTORY,
        "channels": {
            "twilio": {"base_url": "http://127.0.0.1:9", "account_sid": "AC1", "auth_token": "tok",
                       "from": "+15550000000", "timeout_ms": 2000},
            "voice": voice if voice is not None else {"via": "pbx", "caller_id": "+15550001111",
                                                      "media_id": "bcp-intro"},
        },
    }


class FakePbx:
    """Records every call with the clock's time; answers from a script."""

    def __init__(self, clock):
        self.clock = clock
        self.calls = []          # (VoiceCall, at)
        self.answers = []        # popped first; then None (originated)
        self.on_call = None
        self.lock = threading.Lock()

    def __call__(self, call):
        with self.lock:
            self.calls.append((call, self.clock.now()))
            answer = self.answers.pop(0) if self.answers else None
        if self.on_call is not None:
            self.on_call(call)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class CascadePbxVoiceTest(unittest.TestCase):
    def setUp(self):
        self.clock = lifeline.Clock.manual(START)
        self.runtime = lifeline.CascadeRuntime(config(), clock=self.clock)
        self.pbx = FakePbx(self.clock)
        self.runtime.set_voice_originator(self.pbx)

    def tearDown(self):
        self.runtime.close()
        self.clock.close()

    def trigger(self, incident="INC-1"):
        self.runtime.trigger({"incidentId": incident, "severity": "P1", "stakeholderGroupId": "ops",
                              "messageTemplate": "Outage at {{site}}",
                              "timestamp": "2024-05-20T14:32:00Z", "variables": {"site": "DC-East"}})
        self.runtime.settle()

    def at(self, offset_ms):
        self.clock.set(START + offset_ms)
        self.runtime.settle()

    def attempts(self, incident="INC-1"):
        stakeholder = self.runtime.state(incident)["stakeholders"][0]
        return [(a["channel"], a["status"]) for a in stakeholder["attempts"]]

    def test_digit_one_acknowledges_and_no_sms_follows(self):
        self.trigger()
        self.assertEqual(len(self.pbx.calls), 1)
        call, at = self.pbx.calls[0]
        self.assertIsInstance(call, VoiceCall)
        self.assertEqual(at, START)
        self.assertEqual(call.incident_id, "INC-1")
        self.assertEqual(call.member_id, "alice")
        self.assertEqual(call.destination, "+12125550101")
        self.assertEqual(call.caller_id, "+15550001111")
        self.assertEqual(call.prompt_text, "Outage at DC-East")
        self.assertEqual(call.media_id, "bcp-intro")
        self.assertEqual(call.gather_prompt_text, "Press 1 to acknowledge.")
        self.assertEqual(call.ack_digit, "1")
        self.assertEqual(call.max_digits, 1)
        self.assertEqual(call.digit_timeout_ms, 10000)
        self.assertEqual(call.ring_timeout_ms, 30000)
        self.assertEqual(call.severity, 1)
        self.assertFalse(call.escalation)
        self.assertNotIn("555", repr(call))  # the number is PII
        self.assertEqual(self.attempts(), [("voice", "PENDING")])

        self.runtime.voice_result(call.message_id, VoiceResult.ANSWERED, "1")
        self.runtime.settle()
        stakeholder = self.runtime.state("INC-1")["stakeholders"][0]
        self.assertEqual(stakeholder["status"], "ACKNOWLEDGED")
        self.assertTrue(stakeholder["acknowledged"])
        # A duplicate changes nothing; ten minutes on, still no SMS, one call.
        self.runtime.voice_result(call.message_id, VoiceResult.ANSWERED, "1")
        for t in range(60_000, 600_001, 60_000):
            self.at(t)
        self.assertEqual(self.attempts(), [("voice", "ACKNOWLEDGED")])
        self.assertEqual(len(self.pbx.calls), 1)
        metrics = self.runtime.metrics()
        self.assertEqual(metrics["channels"]["sms"]["sent"], 0)
        self.assertEqual(metrics["channels"]["voice"],
                         {"sent": 1, "accepted": 1, "throttled": 0, "failed": 0})
        self.assertEqual(metrics["voice_results"], 2)

    def test_no_answer_retries_the_call_then_the_cascade_moves_to_sms(self):
        self.trigger()
        outcomes = [VoiceResult.NO_ANSWER, VoiceResult.BUSY, VoiceResult.NO_ANSWER, VoiceResult.FAILED]
        for i, offset in enumerate([0, 15_000, 45_000, 105_000]):
            if offset:
                self.at(offset - 1)
                self.assertEqual(len(self.pbx.calls), i)
                self.at(offset)
            self.assertEqual(len(self.pbx.calls), i + 1)
            call, at = self.pbx.calls[i]
            self.assertEqual(at, START + offset)
            self.assertEqual(self.attempts()[-1], ("voice", "PENDING"))
            self.runtime.voice_result(call.message_id, outcomes[i])   # digits None
            self.runtime.settle()
        attempts = self.attempts()
        self.assertEqual(attempts[:4], [("voice", "FAILED")] * 4)
        self.assertEqual(attempts[4][0], "sms")       # the next channel, at once
        self.assertEqual(self.runtime.metrics()["channels"]["sms"]["sent"], 1)
        self.assertEqual(len(self.pbx.calls), 4)

    def test_trunks_busy_is_offered_again_after_the_retry_after(self):
        self.pbx.answers = [(OriginateAnswer.TRUNKS_BUSY, 2000), OriginateAnswer.ORIGINATED]
        self.trigger()
        self.assertEqual(len(self.pbx.calls), 1)
        self.assertEqual(self.attempts(), [("voice", "QUEUED")])
        self.at(1_999)
        self.assertEqual(len(self.pbx.calls), 1)
        self.at(2_000)
        self.assertEqual(len(self.pbx.calls), 2)
        first, second = self.pbx.calls[0][0], self.pbx.calls[1][0]
        self.assertEqual(first.message_id, second.message_id)  # the same attempt
        self.runtime.voice_result(second.message_id, VoiceResult.ANSWERED, "1")
        self.runtime.settle()
        self.assertEqual(self.attempts(), [("voice", "ACKNOWLEDGED")])
        self.assertEqual(self.runtime.metrics()["channels"]["voice"],
                         {"sent": 2, "accepted": 1, "throttled": 1, "failed": 0})

    def test_exceptions_and_bogus_answers_fail_the_call_without_reaching_c(self):
        self.pbx.answers = [RuntimeError("pbx socket closed")]
        self.trigger("INC-1")
        self.assertEqual(self.attempts("INC-1"), [("voice", "FAILED")])
        self.assertIsInstance(self.runtime.last_originator_error, RuntimeError)
        self.pbx.answers = ["yes"]
        self.at(15_000)   # the retry
        self.assertEqual(self.attempts("INC-1"), [("voice", "FAILED"), ("voice", "FAILED")])
        self.assertIsInstance(self.runtime.last_originator_error, ValueError)
        # Unroutable: UNREACHABLE at once, then the next channel (sms).
        self.pbx.answers = [OriginateAnswer.UNROUTABLE]
        self.trigger("INC-2")
        self.assertEqual(self.attempts("INC-2")[0], ("voice", "UNREACHABLE"))
        self.assertEqual(self.attempts("INC-2")[1][0], "sms")

    def test_a_result_may_be_reported_from_inside_the_originator(self):
        reported = []

        def report(call):
            self.runtime.voice_result(call.message_id, VoiceResult.ANSWERED, "1")
            reported.append(call.message_id)

        self.pbx.on_call = report
        self.trigger()
        self.assertEqual(len(reported), 1)
        self.assertEqual(self.attempts(), [("voice", "ACKNOWLEDGED")])
        self.assertIsNone(self.runtime.last_originator_error)

    def test_argument_errors_and_removal(self):
        self.trigger()
        call = self.pbx.calls[0][0]
        with self.assertRaises(lifeline.NotFoundError) as cm:
            self.runtime.voice_result(call.message_id + 1000, VoiceResult.ANSWERED, "1")
        self.assertIn("message_id: unknown message", str(cm.exception))
        with self.assertRaises(lifeline.InvalidArgumentError) as cm:
            self.runtime.voice_result(call.message_id, VoiceResult.ANSWERED, "1x")
        self.assertIn("digits: key 1 is not DTMF", str(cm.exception))
        with self.assertRaises(lifeline.InvalidArgumentError):
            self.runtime.voice_result(call.message_id, 9)
        with self.assertRaises(lifeline.InvalidArgumentError):
            self.runtime.voice_result(call.message_id, VoiceResult.BUSY, "1")
        with self.assertRaises(lifeline.InvalidArgumentError):
            self.runtime.voice_result(call.message_id, VoiceResult.ANSWERED, "1" * 17)
        self.assertEqual(self.attempts(), [("voice", "PENDING")])

        self.runtime.set_voice_originator(None)
        self.assertIsNone(self.runtime._voice_originator)
        self.trigger("INC-2")
        self.assertEqual(len(self.pbx.calls), 1)
        self.assertEqual(self.attempts("INC-2"), [("voice", "FAILED")])

    def test_twilio_voice_runtime_refuses_the_pbx_calls(self):
        with lifeline.CascadeRuntime(config({"via": "twilio"}), clock=self.clock) as runtime:
            with self.assertRaises(lifeline.StateError):
                runtime.set_voice_originator(self.pbx)
            with self.assertRaises(lifeline.StateError):
                runtime.voice_result(1, VoiceResult.ANSWERED, "1")
        with self.assertRaises(lifeline.InvalidArgumentError) as cm:
            lifeline.CascadeRuntime(config({"via": "pbx", "ack_digit": "x"}), clock=self.clock)
        self.assertIn("channels.voice.ack_digit", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
