// The audit trail's crypto wrappers (lib/core/audit_crypto.hpp) against
// published known-answer vectors, and the JSON scans of audit_json.hpp
// against a byte-by-byte reference.
#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/audit_crypto.hpp"
#include "core/audit_json.hpp"
#include "lifeline/audit_keys.hpp"

using lifeline::SecretKey;
using lifeline::audit_internal::AesGcm;
using lifeline::audit_internal::HexDecode;
using lifeline::audit_internal::HexEncode;
using lifeline::audit_internal::HmacSha256;
using lifeline::audit_internal::kSha256Size;

namespace {

std::string Bytes(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  REQUIRE(HexDecode(hex, reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  return out;
}

std::string Sha256Hex(std::string_view data) {
  std::uint8_t digest[kSha256Size];
  lifeline::audit_internal::Sha256(data, digest);
  return HexEncode(digest, sizeof digest);
}

// SHA-256 through the EVP interface: the reference for the wrapper.
std::string EvpSha256Hex(std::string_view data) {
  std::uint8_t digest[kSha256Size];
  unsigned int size = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) == 1);
  return HexEncode(digest, size);
}

std::string HmacHex(const std::string& key, std::string_view message) {
  HmacSha256 mac(reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
  return mac.Hex(message);
}

}  // namespace

TEST_CASE("SHA-256 gives the FIPS 180-2 answers, and Sha256Two hashes the concatenation") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Every length around the block and padding boundaries, and every split
  // point of the two-part form.
  std::mt19937 rng(5);
  std::string data(200, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (std::size_t n = 0; n <= data.size(); ++n) {
    REQUIRE(Sha256Hex(std::string_view(data).substr(0, n)) == EvpSha256Hex(std::string_view(data).substr(0, n)));
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
  for (std::size_t split = 0; split <= 130; ++split) {
    std::uint8_t two[kSha256Size];
    lifeline::audit_internal::Sha256Two(bytes, split, bytes + split, 130 - split, two);
    REQUIRE(HexEncode(two, sizeof two) == EvpSha256Hex(std::string_view(data).substr(0, 130)));
  }
}

TEST_CASE("HMAC-SHA256 gives the RFC 4231 answers, call after call on one context") {
  struct Vector {
    std::string key;
    std::string data;
    const char* mac;
  };
  const Vector vectors[] = {
      // Test cases 1-4, 6 and 7 (5 truncates the output).
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const Vector& v : vectors) {
    CAPTURE(v.mac);
    CHECK(HmacHex(v.key, v.data) == v.mac);
  }
  // One context, reused: each MAC starts from the key again.
  HmacSha256 mac(reinterpret_cast<const std::uint8_t*>("Jefe"), 4);
  for (int round = 0; round < 3; ++round) {
    CHECK(mac.Hex("what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // The empty message (computed with Python's hmac module).
    CHECK(mac.Hex("") == "923598ca6d64af2a5dba79dcd021a8a0fe5c5f557519adaaf0ad532d4506dd30");
  }
  // The SecretKey constructor keys with its 32 bytes.
  std::uint8_t raw[SecretKey::kSize];
  for (std::size_t i = 0; i < sizeof raw; ++i) raw[i] = static_cast<std::uint8_t>(0x70 + i);
  HmacSha256 from_key{SecretKey(raw)};
  HmacSha256 from_bytes(raw, sizeof raw);
  std::string appended = "p1:";
  from_key.AppendHex("+15551234567", &appended);
  CHECK(appended == "p1:" + from_bytes.Hex("+15551234567"));
  CHECK(appended.size() == 3 + 64);
}

TEST_CASE("AES-256-GCM opens the GCM specification's test case 16 and refuses it altered") {
  // McGrew and Viega, "The Galois/Counter Mode of Operation", test case 16:
  // 256-bit key, 96-bit IV, 60-byte plaintext, 20-byte AAD.
  std::string key = Bytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::string iv = Bytes("cafebabefacedbaddecaf888");
  std::string plain = Bytes(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  std::string aad = Bytes("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string cipher = Bytes(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
  std::string tag = Bytes("76fc6ece0f4e1768cddf8853bb2d551b");
  SecretKey k(reinterpret_cast<const std::uint8_t*>(key.data()));
  AesGcm gcm;
  std::string out;
  REQUIRE(gcm.Open(k, aad, iv + cipher + tag, &out).ok());
  CHECK(out == plain);
  std::string bad_tag = tag;
  bad_tag[15] ^= 1;
  CHECK(gcm.Open(k, aad, iv + cipher + bad_tag, &out).code() == lifeline::StatusCode::kState);
  CHECK(gcm.Open(k, aad.substr(1), iv + cipher + tag, &out).code() == lifeline::StatusCode::kState);
  // The context is still good after a failure.
  REQUIRE(gcm.Open(k, aad, iv + cipher + tag, &out).ok());
  CHECK(out == plain);
}

TEST_CASE("AES-256-GCM seals with a fresh nonce each time, across key changes") {
  std::uint8_t a_bytes[SecretKey::kSize], b_bytes[SecretKey::kSize];
  for (std::size_t i = 0; i < SecretKey::kSize; ++i) {
    a_bytes[i] = static_cast<std::uint8_t>(i);
    b_bytes[i] = static_cast<std::uint8_t>(0x80 + i);
  }
  SecretKey a(a_bytes), b(b_bytes);
  AesGcm sealer, opener;
  std::vector<std::string> nonces;
  for (int i = 0; i < 1000; ++i) {
    const SecretKey& key = (i / 3) % 2 == 0 ? a : b;  // switches key every third value
    std::string aad = "aad-" + std::to_string(i);
    std::string plain = "value " + std::to_string(i);
    std::string sealed;
    REQUIRE(sealer.Seal(key, aad, plain, &sealed).ok());
    REQUIRE(sealed.size() == AesGcm::kNonceSize + plain.size() + AesGcm::kTagSize);
    nonces.push_back(sealed.substr(0, AesGcm::kNonceSize));
    std::string out;
    REQUIRE(opener.Open(key, aad, sealed, &out).ok());
    REQUIRE(out == plain);
    const SecretKey& other = &key == &a ? b : a;
    REQUIRE(opener.Open(other, aad, sealed, &out).code() == lifeline::StatusCode::kState);
  }
  std::sort(nonces.begin(), nonces.end());
  CHECK(std::adjacent_find(nonces.begin(), nonces.end()) == nonces.end());
}

TEST_CASE("the JSON scans agree with a byte-by-byte test, for every byte at every position") {
  auto needs_escape = [](std::string_view s) {
    for (char c : s) {
      auto b = static_cast<unsigned char>(c);
      if (b < 0x20 || b == '"' || b == '\\') return true;
    }
    return false;
  };
  auto ascii = [](std::string_view s) {
    for (char c : s) {
      if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
  };
  for (std::size_t size = 0; size <= 40; ++size) {
    for (int byte = 0; byte < 256; ++byte) {
      for (std::size_t at = 0; at < std::max<std::size_t>(size, 1); ++at) {
        // Neighbours that are escaped or non-ASCII themselves only when the
        // byte under test is absent: the byte alone decides the answer.
        std::string s(size, 'a');
        if (size > 0) s[at] = static_cast<char>(byte);
        CAPTURE(size, byte, at);  // 0-7: bytes; 8-15: words; 16-40: SSE2 and words
        REQUIRE(lifeline::audit_internal::NeedsJsonEscape(s) == needs_escape(s));
        REQUIRE(lifeline::audit_internal::IsAscii(s) == ascii(s));
        // Next to the largest bytes that need no escape and the smallest
        // that do not (borrows between bytes must not leak an answer).
        std::string t(size, '\x20');
        if (size > 0) t[at] = static_cast<char>(byte);
        REQUIRE(lifeline::audit_internal::NeedsJsonEscape(t) == needs_escape(t));
        std::string u(size, '\xff');
        if (size > 0) u[at] = static_cast<char>(byte);
        REQUIRE(lifeline::audit_internal::NeedsJsonEscape(u) == needs_escape(u));
        REQUIRE(lifeline::audit_internal::IsAscii(u) == ascii(u));
      }
    }
  }
  // Random strings of every byte value.
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    std::string s(std::uniform_int_distribution<std::size_t>(0, 40)(rng), '\0');
    for (char& c : s) {
      c = static_cast<char>(std::uniform_int_distribution<int>(round % 2 == 0 ? 0x20 : 0, 255)(rng));
    }
    REQUIRE(lifeline::audit_internal::NeedsJsonEscape(s) == needs_escape(s));
    REQUIRE(lifeline::audit_internal::IsAscii(s) == ascii(s));
  }
}
