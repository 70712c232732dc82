"""The cascade runtime through ctypes, against fake Twilio and SendGrid
servers written with http.server on loopback, on a manual clock: acks stop
a stakeholder's cascade, an unacknowledged member escalates to the on-call
manager, inbound requests are authenticated."""

import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import tempfile
import threading
import unittest
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import lifeline

START = 1_795_000_000_000
SID = "AC123"
TOKEN = "tw-token"
STATUS_URL = "https://host.example/lifeline/twilio/status"
INBOUND_URL = "https://host.example/lifeline/twilio/sms"


class _Fakes(http.server.BaseHTTPRequestHandler):
    """Fake Twilio Messages.json and SendGrid /v3/mail/send."""

    lock = threading.Lock()
    sms = []      # dicts: To, From, Body, StatusCallback, sid
    emails = []   # dicts: to, text, id
    rejected = 0
    throttle_next = 0

    def _reply(self, status, body=None, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with _Fakes.lock:
            if self.path == "/2010-04-01/Accounts/%s/Messages.json" % SID:
                basic = "Basic " + base64.b64encode(("%s:%s" % (SID, TOKEN)).encode()).decode()
                form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                if (self.headers.get("Authorization") != basic
                        or self.headers.get("Content-Type") != "application/x-www-form-urlencoded"
                        or not {"To", "From", "Body"} <= set(form)):
                    _Fakes.rejected += 1
                    return self._reply(400, {"message": "bad request"})
                if _Fakes.throttle_next > 0:
                    _Fakes.throttle_next -= 1
                    return self._reply(429, {"code": 20429, "message": "Too Many Requests"},
                                       [("Retry-After", "1")])
                form["sid"] = "SM%d" % (len(_Fakes.sms) + 1)
                _Fakes.sms.append(form)
                return self._reply(201, {"sid": form["sid"], "status": "queued"})
            if self.path == "/v3/mail/send":
                try:
                    mail = json.loads(body)
                    to = mail["personalizations"][0]["to"][0]["email"]
                    text = mail["content"][0]["value"]
                    ok = (self.headers.get("Authorization") == "Bearer SG.key"
                          and mail["from"]["email"] and mail["subject"])
                except (ValueError, KeyError, IndexError):
                    ok = False
                if not ok:
                    _Fakes.rejected += 1
                    return self._reply(400, {"errors": [{"message": "bad request"}]})
                message_id = "sgmsg%d" % (len(_Fakes.emails) + 1)
                _Fakes.emails.append({"to": to, "text": text, "id": message_id})
                self.send_response(202)
                self.send_header("X-Message-Id", message_id)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
        _Fakes.rejected += 1
        return self._reply(404, {"message": "not found"})

    def log_message(self, *args):
        pass


def twilio_signature(url, params):
    data = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


def rfc3339(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


DIRECTORY = {
    "members": [
        {"id": "alice", "channels": ["sms", "email"],
         "addresses": {"sms": "+15550000001", "email": "alice@example.com"}},
        {"id": "bob", "channels": ["sms", "email"],
         "addresses": {"sms": "+15550000002", "email": "bob@example.com"}},
        {"id": "mgr", "channels": ["sms"], "addresses": {"sms": "+15550000009"}},
    ],
    "groups": [{"id": "ops", "members": ["alice", "bob"], "onCallManager": "mgr"}],
}


class CascadeRuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fakes)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        with _Fakes.lock:
            _Fakes.sms, _Fakes.emails, _Fakes.rejected, _Fakes.throttle_next = [], [], 0, 0
        self.clock = lifeline.Clock.manual(START)
        self.config = {
            "directory": DIRECTORY,
            "cascade": {"hold_ms": {"P1": 90000}},
            "channels": {
                "twilio": {"base_url": self.base, "account_sid": SID, "auth_token": TOKEN,
                           "from": "+15557770000", "status_callback_url": STATUS_URL,
                           "voice": False},
                "sendgrid": {"base_url": self.base, "api_key": "SG.key",
                             "from_email": "noreply@example.com",
                             "ack_url": "https://host.example/lifeline/ack", "ack_key": "k" * 32},
            },
            "inbound": {"bearer_token": "trigger-token", "hmac_secret": "trigger-secret"},
        }
        self.runtime = lifeline.CascadeRuntime(self.config, clock=self.clock)

    def tearDown(self):
        self.runtime.close()
        self.clock.close()

    # --- helpers -----------------------------------------------------------------
    def trigger(self, incident="INC-1", **extra):
        t = {"incidentId": incident, "severity": "P1", "stakeholderGroupId": "ops",
             "messageTemplate": "Data center {{dc}} is down. Reply 1 to acknowledge.",
             "timestamp": rfc3339(START), "variables": {"dc": "East"}}
        t.update(extra)
        return t

    def advance(self, ms):
        self.clock.advance(ms)
        self.runtime.settle()

    def twilio(self, url, params, signature=None, runtime=None):
        body = urllib.parse.urlencode(params)
        headers = {"X-Twilio-Signature": signature or twilio_signature(url, params),
                   "Content-Type": "application/x-www-form-urlencoded"}
        return (runtime or self.runtime).ingest_provider_callback("twilio", "POST", url, headers, body)

    def sms_to(self, phone):
        with _Fakes.lock:
            return [m for m in _Fakes.sms if m["To"] == phone]

    def member(self, state, member_id):
        return next(s for s in state["stakeholders"] if s["memberId"] == member_id)

    # --- tests -------------------------------------------------------------------
    def test_ack_stops_the_cascade_and_the_silent_member_escalates(self):
        state = self.runtime.trigger(self.trigger())
        self.assertFalse(state["duplicate"])
        self.assertEqual(state["incidentId"], "INC-1")
        self.runtime.settle()
        self.assertEqual(len(_Fakes.sms), 2)
        alice_sms = self.sms_to("+15550000001")[0]
        self.assertEqual(alice_sms["Body"], "Data center East is down. Reply 1 to acknowledge.")
        self.assertEqual(alice_sms["From"], "+15557770000")
        self.assertEqual(alice_sms["StatusCallback"], STATUS_URL)
        # Delivery receipts for both, through signed status callbacks.
        for m in list(_Fakes.sms):
            answer = self.twilio(STATUS_URL, {"MessageSid": m["sid"], "MessageStatus": "delivered",
                                              "AccountSid": SID})
            self.assertEqual(answer, {"kind": "status", "acknowledged": False, "applied": 1,
                                      "ignored": 0})
        # Alice replies "1": her cascade stops.
        answer = self.twilio(INBOUND_URL, {"From": "+15550000001", "To": "+15557770000",
                                           "Body": " 1 ", "MessageSid": "SMin1"})
        self.assertEqual(answer["kind"], "reply")
        self.assertTrue(answer["acknowledged"])
        state = self.runtime.state("INC-1")
        self.assertTrue(self.member(state, "alice")["acknowledged"])
        self.assertEqual(self.member(state, "alice")["status"], "ACKNOWLEDGED")
        # A forged request changes nothing.
        with self.assertRaises(lifeline.UnauthenticatedError):
            self.twilio(INBOUND_URL, {"From": "+15550000002", "Body": "1"}, signature="AAAA")
        self.assertFalse(self.member(self.runtime.state("INC-1"), "bob")["acknowledged"])

        # 90 s later bob's hold expires: email, with an ack link; nothing for alice.
        self.advance(90_000)
        self.assertEqual([e["to"] for e in _Fakes.emails], ["bob@example.com"])
        self.assertIn("https://host.example/lifeline/ack?token=", _Fakes.emails[0]["text"])
        answer = self.runtime.ingest_provider_callback(
            "sendgrid", "POST", "https://host.example/lifeline/sendgrid", {},
            [{"event": "processed", "sg_message_id": "sgmsg1.filter1"},
             {"event": "delivered", "sg_message_id": "sgmsg1.filter1", "email": "bob@example.com"},
             {"event": "open", "sg_message_id": "sgmsg1.filter1"}])
        self.assertEqual(answer, {"kind": "events", "acknowledged": False, "applied": 1,
                                  "ignored": 2})
        # Another 90 s: bob has no channel left and escalates to the manager.
        self.advance(90_000)
        state = self.runtime.state("INC-1")
        bob = self.member(state, "bob")
        self.assertEqual(bob["status"], "ESCALATED")
        self.assertFalse(bob["acknowledged"])
        # His history: sms, email, then the escalation to the manager.
        self.assertEqual([(a["channel"], a["escalation"]) for a in bob["attempts"]],
                         [("sms", False), ("email", False), ("sms", True)])
        self.assertEqual(state["acknowledgedCount"], 1)
        self.assertEqual(state["escalatedCount"], 1)
        self.assertEqual(len(self.sms_to("+15550000009")), 1)
        self.assertEqual(len(self.sms_to("+15550000001")), 1)   # alice: never again
        self.assertEqual(len(self.sms_to("+15550000002")), 1)
        self.assertEqual(_Fakes.rejected, 0)

        listing = self.runtime.list()
        self.assertEqual(len(listing), 1)
        self.assertEqual(listing[0]["incidentId"], "INC-1")
        self.assertEqual(listing[0]["stakeholderCount"], 2)
        metrics = self.runtime.metrics()
        self.assertEqual(metrics["channels"]["sms"]["sent"], 3)
        self.assertEqual(metrics["channels"]["email"]["accepted"], 1)
        self.assertEqual(metrics["unauthenticated_requests"], 1)
        self.assertEqual(metrics["sms_replies"], 1)
        self.assertIn('lifeline_cascade_messages_sent_total{channel="sms"} 3',
                      self.runtime.metrics_prometheus())

    def test_trigger_is_idempotent_and_http_triggers_are_authenticated(self):
        self.assertFalse(self.runtime.trigger(self.trigger())["duplicate"])
        self.assertTrue(self.runtime.trigger(self.trigger())["duplicate"])
        body = json.dumps(self.trigger("INC-2"))
        url = "https://host.example/lifeline/trigger"
        with self.assertRaises(lifeline.UnauthenticatedError):
            self.runtime.trigger_http("POST", url, {"Authorization": "Bearer nope"}, body)
        with self.assertRaises(lifeline.UnauthenticatedError):
            self.runtime.trigger_http("POST", url, {}, body)
        with self.assertRaises(lifeline.InvalidArgumentError):
            self.runtime.trigger_http("GET", url, {"Authorization": "Bearer trigger-token"}, body)
        state = self.runtime.trigger_http("POST", url, {"Authorization": "Bearer trigger-token"}, body)
        self.assertEqual((state["incidentId"], state["duplicate"]), ("INC-2", False))
        # HMAC: timestamp "." body, within the replay window, once.
        body3 = json.dumps(self.trigger("INC-3"))
        ts = str(START // 1000)
        sig = "v1=" + hmac.new(b"trigger-secret", (ts + "." + body3).encode(),
                               hashlib.sha256).hexdigest()
        headers = {"X-Lifeline-Timestamp": ts, "X-Lifeline-Signature": sig}
        self.assertFalse(self.runtime.trigger_http("POST", url, headers, body3)["duplicate"])
        with self.assertRaisesRegex(lifeline.UnauthenticatedError, "replayed"):
            self.runtime.trigger_http("POST", url, headers, body3)
        stale = dict(headers, **{"X-Lifeline-Timestamp": str(START // 1000 - 3600)})
        with self.assertRaisesRegex(lifeline.UnauthenticatedError, "replay window"):
            self.runtime.trigger_http("POST", url, stale, body3)
        with self.assertRaisesRegex(lifeline.InvalidArgumentError, "severity"):
            self.runtime.trigger(self.trigger("INC-4", severity="P9"))
        with self.assertRaises(lifeline.NotFoundError):
            self.runtime.trigger(self.trigger("INC-4", stakeholderGroupId="nobody"))
        self.assertEqual([i["incidentId"] for i in self.runtime.list()], ["INC-1", "INC-2", "INC-3"])
        self.assertEqual(self.runtime.metrics()["duplicate_triggers"], 1)

    def test_email_ack_link_is_single_use_and_close_stops_everything(self):
        self.runtime.trigger(self.trigger())
        self.runtime.settle()
        for m in list(_Fakes.sms):
            self.twilio(STATUS_URL, {"MessageSid": m["sid"], "MessageStatus": "delivered"})
        self.advance(90_000)
        self.assertEqual(sorted(e["to"] for e in _Fakes.emails),
                         ["alice@example.com", "bob@example.com"])
        bob_mail = next(e for e in _Fakes.emails if e["to"] == "bob@example.com")
        token = bob_mail["text"].split("?token=")[1].split()[0]
        self.assertEqual(self.runtime.ack_link(token), {"incidentId": "INC-1", "memberId": "bob"})
        with self.assertRaises(lifeline.DuplicateError):
            self.runtime.ack_link(token)
        with self.assertRaises(lifeline.UnauthenticatedError):
            self.runtime.ack_link(token[:-2] + "xx")
        self.assertEqual(self.member(self.runtime.state("INC-1"), "bob")["status"], "ACKNOWLEDGED")
        self.runtime.close_incident("INC-1")
        self.advance(200_000)   # alice's hold expired long ago: nothing happens
        state = self.runtime.state("INC-1")
        self.assertEqual(state["status"], "CLOSED")
        self.assertEqual(len(_Fakes.sms), 2)   # no escalation after the close
        self.assertEqual(len(_Fakes.emails), 2)
        self.advance(200_000)   # past the idempotency window: forgotten
        with self.assertRaises(lifeline.NotFoundError):
            self.runtime.state("INC-1")
        with self.assertRaises(lifeline.NotFoundError):
            self.runtime.acknowledge("INC-1", "carol")

    def test_throttled_carrier_loses_nothing(self):
        with _Fakes.lock:
            _Fakes.throttle_next = 1
        self.runtime.trigger(self.trigger())
        self.runtime.settle()
        self.assertEqual(len(_Fakes.sms), 1)   # one 429: its endpoint pauses 1 s
        self.advance(1_000)
        self.assertEqual(sorted(m["To"] for m in _Fakes.sms), ["+15550000001", "+15550000002"])
        self.assertEqual(self.runtime.metrics()["channels"]["sms"]["throttled"], 1)

    def test_bad_arguments_and_config(self):
        with self.assertRaisesRegex(lifeline.InvalidArgumentError, "directory"):
            lifeline.CascadeRuntime({"store": {"path": ":memory:"}}, clock=self.clock)
        with self.assertRaisesRegex(lifeline.InvalidArgumentError, "channels.twilio.auth_token"):
            lifeline.CascadeRuntime({"directory": DIRECTORY,
                                     "channels": {"twilio": {"account_sid": SID, "from": "+1555"}}},
                                    clock=self.clock)
        with self.assertRaisesRegex(lifeline.InvalidArgumentError, "bogus"):
            lifeline.CascadeRuntime({"directory": DIRECTORY, "bogus": 1}, clock=self.clock)
        with self.assertRaisesRegex(lifeline.InvalidArgumentError, "provider"):
            self.runtime.ingest_provider_callback("fcm", "POST", "https://h/x", {}, "")
        with self.assertRaisesRegex(lifeline.InvalidArgumentError, "headers_json"):
            self.runtime.ingest_provider_callback("twilio", "POST", "https://h/x", [1], "")
        with self.assertRaises(lifeline.NotFoundError):
            self.runtime.state("INC-404")
        runtime = lifeline.CascadeRuntime({"directory": DIRECTORY}, clock=self.clock)
        runtime.close()
        with self.assertRaises(lifeline.StateError):
            runtime.list()

    def test_store_file_survives_a_reopen(self):
        path = os.path.join(os.environ.get("LIFELINE_TEST_TMP", tempfile.gettempdir()),
                            "py-cascade-runtime-%d.sqlite" % os.getpid())
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        config = dict(self.config, store={"path": path})
        with lifeline.CascadeRuntime(config, clock=self.clock) as runtime:
            runtime.trigger(self.trigger("INC-D"))
            runtime.settle()
        with lifeline.CascadeRuntime(config, clock=self.clock) as runtime:
            self.assertTrue(runtime.trigger(self.trigger("INC-D"))["duplicate"])
            self.assertEqual(runtime.state("INC-D")["stakeholders"][0]["lastAttemptedChannel"], "sms")
        self.assertEqual(len(_Fakes.sms), 2)   # nothing re-sent by the reopen

    # --- signed SendGrid webhooks and restarts ----------------------------------
    def emails_after_hold(self, runtime):
        """Trigger INC-1, deliver both SMS, let the 90 s hold pass: both
        members are emailed. Returns {member email: delivery}."""
        runtime.trigger(self.trigger())
        runtime.settle()
        for m in list(_Fakes.sms):
            runtime.ingest_provider_callback(
                "twilio", "POST", STATUS_URL,
                {"X-Twilio-Signature": twilio_signature(STATUS_URL, {"MessageSid": m["sid"],
                                                                     "MessageStatus": "delivered"})},
                urllib.parse.urlencode({"MessageSid": m["sid"], "MessageStatus": "delivered"}))
        self.clock.advance(90_000)
        runtime.settle()
        return {e["to"]: e for e in _Fakes.emails}

    def test_signed_sendgrid_webhook_applies_and_unsigned_is_refused(self):
        key = ec.generate_private_key(ec.SECP256R1())
        public_key = base64.b64encode(key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
        config = json.loads(json.dumps(self.config))
        config["channels"]["sendgrid"]["webhook_public_key"] = public_key
        with lifeline.CascadeRuntime(config, clock=self.clock) as runtime:
            emails = self.emails_after_hold(runtime)
            bob_ref = emails["bob@example.com"]["id"]
            # The raw body, bytes as SendGrid sent them (the signature covers them).
            body = json.dumps([{"email": "bob@example.com", "event": "delivered",
                                "sg_message_id": bob_ref + ".filter0001",
                                "timestamp": START // 1000 + 91}], separators=(", ", ": ")).encode()
            ts = str((START + 90_000) // 1000)
            signature = base64.b64encode(key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
            headers = {"X-Twilio-Email-Event-Webhook-Signature": signature,
                       "X-Twilio-Email-Event-Webhook-Timestamp": ts,
                       "Content-Type": "application/json"}
            with self.assertRaisesRegex(lifeline.UnauthenticatedError, "header is missing"):
                runtime.ingest_provider_callback("sendgrid", "POST", "https://host.example/sg", {}, body)
            with self.assertRaisesRegex(lifeline.UnauthenticatedError, "does not verify"):
                runtime.ingest_provider_callback("sendgrid", "POST", "https://host.example/sg", headers,
                                                 body.replace(b"delivered", b"bounce"))
            stale = dict(headers, **{"X-Twilio-Email-Event-Webhook-Timestamp": str(START // 1000 - 600)})
            with self.assertRaisesRegex(lifeline.UnauthenticatedError, "replay window"):
                runtime.ingest_provider_callback("sendgrid", "POST", "https://host.example/sg", stale, body)
            bob = self.member(runtime.state("INC-1"), "bob")
            self.assertEqual(bob["attempts"][-1]["status"], "PENDING")
            answer = runtime.ingest_provider_callback("sendgrid", "POST", "https://host.example/sg",
                                                      headers, body)
            self.assertEqual(answer, {"kind": "events", "acknowledged": False, "applied": 1, "ignored": 0})
            bob = self.member(runtime.state("INC-1"), "bob")
            self.assertEqual((bob["attempts"][-1]["channel"], bob["attempts"][-1]["status"]),
                             ("email", "DELIVERED"))
            metrics = runtime.metrics()
            self.assertEqual(metrics["unauthenticated_requests"], 3)
            self.assertEqual(metrics["unsigned_sendgrid_webhooks"], 0)
        with self.assertRaisesRegex(lifeline.InvalidArgumentError,
                                    "channels.sendgrid.webhook_public_key"):
            config["channels"]["sendgrid"]["webhook_public_key"] = "bm90IGEga2V5"
            lifeline.CascadeRuntime(config, clock=self.clock)

    def test_sms_replies_and_used_ack_links_survive_a_reopen(self):
        path = os.path.join(os.environ.get("LIFELINE_TEST_TMP", tempfile.gettempdir()),
                            "py-cascade-inbound-%d.sqlite" % os.getpid())
        def remove():
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        remove()
        self.addCleanup(remove)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        config = dict(self.config, store={"path": path})
        with lifeline.CascadeRuntime(config, clock=self.clock) as runtime:
            emails = self.emails_after_hold(runtime)
            token = emails["bob@example.com"]["text"].split("?token=")[1].split()[0]
            self.assertEqual(runtime.ack_link(token), {"incidentId": "INC-1", "memberId": "bob"})
        with lifeline.CascadeRuntime(config, clock=self.clock) as runtime:
            # The used link stays used.
            with self.assertRaisesRegex(lifeline.DuplicateError, "already used"):
                runtime.ack_link(token)
            # alice's "1" finds her through the store, not the closed runtime's memory.
            self.assertTrue(self.twilio(INBOUND_URL, {"From": "+15550000001", "Body": "1"},
                                        signature=None, runtime=runtime)["acknowledged"])
            with self.assertRaises(lifeline.NotFoundError):
                self.twilio(INBOUND_URL, {"From": "+15550000003", "Body": "1"}, runtime=runtime)
            state = runtime.state("INC-1")
            self.assertEqual(self.member(state, "alice")["status"], "ACKNOWLEDGED")
            self.assertEqual(self.member(state, "bob")["status"], "ACKNOWLEDGED")
            self.assertEqual(state["acknowledgedCount"], 2)
        self.assertEqual(len(_Fakes.sms), 2)   # nothing re-sent by the reopens


if __name__ == "__main__":
    unittest.main()
