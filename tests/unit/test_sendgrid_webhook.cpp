// SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over the timestamp
// header's value followed by the raw body, the signature base64 DER, the key
// base64 DER SubjectPublicKeyInfo. Checked against SendGrid's own published
// test vector and against key pairs made here with OpenSSL.
#include <catch2/catch.hpp>

#include <string>

#include "providers/cascade_inbound.hpp"
#include "providers/provider_crypto.hpp"
#include "support/ecdsa_test_keys.hpp"

using namespace lifeline;
using lifeline::testing::EcdsaTestKey;
using lifeline::testing::TestBase64;

namespace {

constexpr UnixMillis kNow = 1'716'215'520'000;  // 2024-05-20T14:32:00Z
const std::string kTs = std::to_string(kNow / 1000);
const std::string kBody =
    R"([{"email":"bob@example.com","event":"delivered","sg_message_id":"sgmsg1.filter0001",)"
    R"("lifeline_message_id":"17","timestamp":1716215519}])" "\r\n";

HttpHeaders Signed(const EcdsaTestKey& key, const std::string& ts, const std::string& body) {
  return {{kSendGridSignatureHeader, key.SignBase64(ts + body)}, {kSendGridTimestampHeader, ts}};
}

SendGridWebhookVerifier Verifier(const std::string& public_key, DurationMillis window = 300'000) {
  auto v = SendGridWebhookVerifier::Create({public_key, window});
  INFO(v.status().message());
  REQUIRE(v.ok());
  return *v;
}

}  // namespace

TEST_CASE("SendGrid's published test vector verifies (sendgrid-go / sendgrid-nodejs eventwebhook tests)") {
  // The key, signature, timestamp and payload of SendGrid's own helper tests
  // (helpers/eventwebhook/eventwebhook_test.go in sendgrid/sendgrid-go,
  // packages/eventwebhook/src/eventwebhook.spec.js in sendgrid-nodejs).
  const std::string key =
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/"
      "1FwCM/QmGUhA==";
  const std::string signature =
      "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
  const std::string timestamp = "1588788367";
  const std::string payload = R"({"category":"example_payload","event":"test_event","message_id":"message_id"})";
  SendGridWebhookVerifier v = Verifier(key);
  const UnixMillis at = 1'588'788'367'000;
  HttpHeaders h = {{"X-Twilio-Email-Event-Webhook-Signature", signature},
                   {"X-Twilio-Email-Event-Webhook-Timestamp", timestamp}};
  CHECK(v.Verify(h, payload, at).ok());
  // Their negative cases: another payload, a changed signature, another key.
  CHECK(v.Verify(h, "payload", at).message() == "sendgrid event webhook: the signature does not verify");
  std::string changed = signature;
  changed[changed.size() - 5] = changed[changed.size() - 5] == '2' ? '3' : '2';
  CHECK(v.Verify({{kSendGridSignatureHeader, changed}, {kSendGridTimestampHeader, timestamp}}, payload, at)
            .code() == StatusCode::kUnauthenticated);
  SendGridWebhookVerifier other = Verifier(
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/"
      "R1NGe1OPzpA==");
  CHECK_FALSE(other.Verify(h, payload, at).ok());
}

TEST_CASE("a batch signed like SendGrid verifies, and any changed byte, key or header is refused") {
  EcdsaTestKey key;
  SendGridWebhookVerifier v = Verifier(key.PublicKeyBase64());
  HttpHeaders h = Signed(key, kTs, kBody);
  CHECK(v.Verify(h, kBody, kNow).ok());
  // Header names are case-insensitive.
  CHECK(v.Verify({{"x-twilio-email-event-webhook-signature", h[0].second},
                  {"X-TWILIO-EMAIL-EVENT-WEBHOOK-TIMESTAMP", kTs}},
                 kBody, kNow)
            .ok());

  SECTION("one byte of the body changed") {
    for (std::size_t i : {std::size_t{0}, kBody.size() / 2, kBody.size() - 1}) {
      std::string body = kBody;
      body[i] = static_cast<char>(body[i] ^ 0x01);
      Status s = v.Verify(h, body, kNow);
      CHECK(s.code() == StatusCode::kUnauthenticated);
      CHECK(s.message() == "sendgrid event webhook: the signature does not verify");
    }
    // The body is raw bytes: a re-serialised JSON (no CRLF) no longer verifies.
    CHECK_FALSE(v.Verify(h, kBody.substr(0, kBody.size() - 2), kNow).ok());
  }
  SECTION("the timestamp is part of the signed bytes") {
    std::string ts2 = std::to_string(kNow / 1000 + 1);
    CHECK(v.Verify({{kSendGridSignatureHeader, h[0].second}, {kSendGridTimestampHeader, ts2}}, kBody, kNow)
              .message() == "sendgrid event webhook: the signature does not verify");
    // Signed as timestamp + body, not body + timestamp or with a separator.
    CHECK_FALSE(v.Verify({{kSendGridSignatureHeader, key.SignBase64(kBody + kTs)},
                          {kSendGridTimestampHeader, kTs}}, kBody, kNow).ok());
    CHECK_FALSE(v.Verify({{kSendGridSignatureHeader, key.SignBase64(kTs + "." + kBody)},
                          {kSendGridTimestampHeader, kTs}}, kBody, kNow).ok());
  }
  SECTION("signed with another key") {
    EcdsaTestKey other;
    CHECK(v.Verify(Signed(other, kTs, kBody), kBody, kNow).message() ==
          "sendgrid event webhook: the signature does not verify");
  }
  SECTION("a signature that is not base64, or not a DER signature") {
    for (const char* bad : {"not base64!", "MEUCIQ", "MEUC*QCt", "====", "AAAA"}) {
      INFO(bad);
      Status s = v.Verify({{kSendGridSignatureHeader, bad}, {kSendGridTimestampHeader, kTs}}, kBody, kNow);
      CHECK(s.code() == StatusCode::kUnauthenticated);
    }
    CHECK(v.Verify({{kSendGridSignatureHeader, "not base64!"}, {kSendGridTimestampHeader, kTs}}, kBody, kNow)
              .message() == "sendgrid event webhook: the signature is not base64");
    // Raw (r||s) instead of DER is refused too.
    std::string der = key.Sign(kTs + kBody);
    CHECK_FALSE(v.Verify({{kSendGridSignatureHeader, TestBase64(der.substr(0, 64))},
                          {kSendGridTimestampHeader, kTs}}, kBody, kNow).ok());
    // Trailing garbage after the DER signature.
    CHECK_FALSE(v.Verify({{kSendGridSignatureHeader, TestBase64(der + std::string(1, '\0'))},
                          {kSendGridTimestampHeader, kTs}}, kBody, kNow).ok());
  }
  SECTION("missing headers") {
    const std::string missing = "sendgrid event webhook: the signature or timestamp header is missing";
    CHECK(v.Verify({}, kBody, kNow).message() == missing);
    CHECK(v.Verify({h[0]}, kBody, kNow).message() == missing);
    CHECK(v.Verify({h[1]}, kBody, kNow).message() == missing);
    CHECK(v.Verify({{kSendGridSignatureHeader, ""}, h[1]}, kBody, kNow).message() == missing);
    CHECK(v.Verify({{kSendGridSignatureHeader, h[0].second}, {kSendGridTimestampHeader, ""}}, kBody, kNow)
              .message() == missing);
  }
  SECTION("stale or future timestamps, at the edge of the 5 min window") {
    const std::string outside = "sendgrid event webhook: timestamp outside the replay window";
    CHECK(v.Verify(h, kBody, kNow + 300'000).ok());
    CHECK(v.Verify(h, kBody, kNow + 300'001).message() == outside);
    CHECK(v.Verify(h, kBody, kNow - 300'000).ok());
    CHECK(v.Verify(h, kBody, kNow - 300'001).message() == outside);
    // A stale but correctly signed request is refused, not just a wrong one.
    std::string old = std::to_string(kNow / 1000 - 3600);
    CHECK(v.Verify(Signed(key, old, kBody), kBody, kNow).message() == outside);
    SendGridWebhookVerifier wide = Verifier(key.PublicKeyBase64(), 2 * 3600 * 1000);
    CHECK(wide.Verify(Signed(key, old, kBody), kBody, kNow).ok());
  }
  SECTION("timestamps that are not Unix seconds") {
    for (const char* bad : {"-1716215520", "1716215520.5", " 1716215520", "17162155200000000", "abc", "0x10"}) {
      INFO(bad);
      CHECK(v.Verify(Signed(key, bad, kBody), kBody, kNow).message() == "sendgrid event webhook: bad timestamp");
    }
  }
}

TEST_CASE("verification keys: base64 or PEM of a P-256 key, anything else is refused") {
  EcdsaTestKey key;
  std::string b64 = key.PublicKeyBase64();
  HttpHeaders h = Signed(key, kTs, kBody);
  // As SendGrid shows it, with stray whitespace, or as a PEM block with line breaks.
  CHECK(Verifier(b64).Verify(h, kBody, kNow).ok());
  CHECK(Verifier("  " + b64 + "\n").Verify(h, kBody, kNow).ok());
  std::string pem = "-----BEGIN PUBLIC KEY-----\n" + b64.substr(0, 64) + "\n" + b64.substr(64) +
                    "\n-----END PUBLIC KEY-----\n";
  CHECK(Verifier(pem).Verify(h, kBody, kNow).ok());

  auto refused = [](const std::string& k) {
    auto v = SendGridWebhookVerifier::Create({k, 300'000});
    return !v.ok() && v.status().code() == StatusCode::kInvalidArgument;
  };
  CHECK(refused(""));
  CHECK(refused("not a key"));
  CHECK(refused(b64.substr(0, b64.size() - 4)));              // truncated DER
  CHECK(refused(TestBase64(key.PublicKeyDer() + "x")));       // trailing bytes
  CHECK(refused(EcdsaTestKey("secp384r1").PublicKeyBase64()));  // another curve
  CHECK(refused(EcdsaTestKey("RSA").PublicKeyBase64()));        // not EC
  CHECK(refused("-----BEGIN PUBLIC KEY-----\n" + b64));         // no END line
  CHECK(SendGridWebhookVerifier::Create({"", 300'000}).status().message().find(b64) == std::string::npos);
  auto zero = SendGridWebhookVerifier::Create({b64, 0});
  CHECK(zero.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("strict standard base64 decoding") {
  CHECK(*DecodeBase64("") == "");
  CHECK(*DecodeBase64("Zg==") == "f");
  CHECK(*DecodeBase64("Zm8=") == "fo");
  CHECK(*DecodeBase64("Zm9v") == "foo");
  CHECK(*DecodeBase64("+/+/") == "\xfb\xff\xbf");
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zg=a", "Zm9v\n", "-_-_", "Zm 9", "====", "Zm9v===="}) {
    INFO(bad);
    CHECK(DecodeBase64(bad).status().message() == "not base64");
  }
  CHECK_FALSE(DecodeBase64(std::string("Zm9\0", 4)).ok());
}
