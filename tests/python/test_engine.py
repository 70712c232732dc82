"""The IVR failover engine through ctypes, against a webhook receiver on
loopback (Python's http.server), with a manual clock."""

import http.server
import json
import threading
import unittest

import lifeline
from lifeline import ActionKind, CallEntry, CallEvent, CallOutcome, Prompt, RoutingMode

START = 1_795_000_000_000


class _Receiver(http.server.BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()
    fail_next = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _Receiver.lock:
            if _Receiver.fail_next > 0:
                _Receiver.fail_next -= 1
                self.send_response(429)
                self.send_header("Retry-After", "3")
                self.end_headers()
                return
            _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class EngineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d/callbacks" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        with _Receiver.lock:
            _Receiver.received = []
            _Receiver.fail_next = 0
        self.clock = lifeline.Clock.manual(START)
        self.engine = lifeline.Engine({"platform": "webhook", "webhook": {"url": self.url}},
                                      clock=self.clock)

    def tearDown(self):
        self.engine.close()
        self.clock.close()

    def received_ids(self):
        with _Receiver.lock:
            return [r["requestId"] for r in _Receiver.received]

    def test_submit_dedup_and_delivery(self):
        first = self.engine.submit_callback({"callerPhone": "(212) 555-0100",
                                             "originalQueueId": "q-support",
                                             "contextData": {"account": "A-1"}})
        self.assertEqual(len(first), 32)
        with self.assertRaises(lifeline.DuplicateError) as ctx:
            self.engine.submit_callback({"callerPhone": "+12125550100", "originalQueueId": "q-support"})
        self.assertEqual(ctx.exception.request_id, first)
        self.engine.drain(10_000)
        self.assertEqual(self.received_ids(), [first])
        with _Receiver.lock:
            self.assertEqual(_Receiver.received[0]["callerPhone"], "+12125550100")
        status = self.engine.callback_status(first)
        self.assertEqual(status["state"], "DELIVERED")
        metrics = self.engine.metrics()
        self.assertEqual(metrics["callbacks_delivered"], 1)
        self.assertEqual(metrics["callbacks_deduplicated"], 1)
        text = self.engine.metrics_prometheus()
        self.assertIn("lifeline_callbacks_delivered_total 1", text)
        self.assertIn('lifeline_calls_total{outcome="callback_recorded"} 0', text)

    def test_retry_after_is_respected(self):
        with _Receiver.lock:
            _Receiver.fail_next = 1
        request_id = self.engine.submit_callback({"callerPhone": "+442079460000",
                                                  "originalQueueId": "q"})
        self.engine.settle()
        self.assertEqual(self.received_ids(), [])
        self.clock.advance(2999)
        self.engine.settle()
        self.assertEqual(self.received_ids(), [])
        self.clock.advance(1)
        self.engine.settle()
        self.assertEqual(self.received_ids(), [request_id])
        self.assertEqual(self.engine.metrics()["platform_429"], 1)

    def test_call_flow(self):
        entry, call, action = self.engine.begin_call("c-1", ani="+12125550100", original_queue_id="q1")
        self.assertEqual(entry, CallEntry.NORMAL)
        self.assertIsNone(call)
        events = []
        self.engine.set_event_callback(events.append)
        self.engine.failover_set(RoutingMode.FAILOVER, "drill")
        self.assertEqual(self.engine.failover_mode, RoutingMode.FAILOVER)
        self.assertEqual(events[-1]["to"], "FAILOVER")
        entry, call, action = self.engine.begin_call("c-2", ani="+12125550100", original_queue_id="q1")
        self.assertEqual(entry, CallEntry.FAILOVER)
        with call:
            self.assertEqual(action.kind, ActionKind.PLAY)
            self.assertEqual(action.prompt, Prompt.EMERGENCY_MESSAGE)
            for _ in range(4):
                if action.kind == ActionKind.COLLECT_DIGITS:
                    break
                action = call.event(CallEvent.PROMPT_FINISHED)
            self.assertEqual(action.kind, ActionKind.COLLECT_DIGITS)
            with self.assertRaises(lifeline.InvalidArgumentError):
                call.event(CallEvent.DIGITS, "1a")
            action = call.event(CallEvent.DIGITS, "1")
            self.assertEqual(action.prompt, Prompt.CONFIRMATION)
            request_id = call.request_id
            action = call.event(CallEvent.PROMPT_FINISHED)
            self.assertEqual(action.kind, ActionKind.HANGUP)
            self.assertEqual(call.outcome, CallOutcome.CALLBACK_RECORDED)
        self.engine.drain(10_000)
        self.assertEqual(self.received_ids(), [request_id])
        self.assertEqual(self.engine.metrics()["calls"]["callback_recorded"], 1)

    def test_flow_timer_is_a_backstop_for_lost_pbx_timeouts(self):
        self.engine.failover_set(RoutingMode.FAILOVER, "drill")
        # Two callers: the PBX reports one's timeout; for the other it never
        # does, and the flow's own deadline must end the silence the same way.
        _, reported, action = self.engine.begin_call("c-t1", ani="+12125550100")
        _, silent, silent_action = self.engine.begin_call("c-t2", ani="+12125550101")
        with reported, silent:
            self.assertEqual(silent_action.kind, ActionKind.PLAY)
            deadline = silent.next_deadline()
            self.assertIsNotNone(deadline)
            # The PBX's playback timeout plus the flow's grace.
            self.assertEqual(deadline, START + silent_action.timeout_ms + 1000)
            self.assertEqual(silent.on_timer().kind, ActionKind.NONE)  # not yet due
            self.clock.set(deadline - 1)
            self.assertEqual(silent.on_timer().kind, ActionKind.NONE)
            expected = reported.event(CallEvent.TIMEOUT)
            self.clock.set(deadline)
            got = silent.on_timer()
            self.assertNotEqual(got.kind, ActionKind.NONE)
            self.assertEqual((got.kind, got.prompt, got.media_id), (expected.kind, expected.prompt, expected.media_id))
            while got.kind != ActionKind.HANGUP:
                self.clock.set(silent.next_deadline())
                got = silent.on_timer()
            self.assertIsNone(silent.next_deadline())
            self.assertEqual(silent.outcome, CallOutcome.TIMEOUT)
            self.assertEqual(silent.on_timer().kind, ActionKind.NONE)  # after the end: harmless

    def test_bad_input(self):
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            lifeline.Engine({"platform": "webhook", "webhook": {"url": self.url}, "retrys": {}})
        self.assertIn("retrys: unknown configuration key", str(ctx.exception))
        with self.assertRaises(lifeline.InvalidArgumentError) as ctx:
            self.engine.submit_callback({"originalQueueId": "q"})
        self.assertIn("callerPhone", str(ctx.exception))
        with self.assertRaises(ValueError):
            self.engine.failover_set(5, "x")
        self.assertEqual(self.engine.dead_letters(), [])


if __name__ == "__main__":
    unittest.main()
