// C ABI over lifeline::DedupCache.
#include <cstring>
#include <string>
#include <string_view>

#include "capi/capi_support.hpp"
#include "capi/dedup_handle.hpp"
#include "lifeline/dedup_cache.hpp"

using lifeline::DedupCache;
using lifeline::DedupResult;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

namespace {

lifeline_status NewCache(const char* function, int64_t ttl_ms, size_t capacity,
                         const DedupCache::HashKey& hash_key, lifeline_dedup_t** out) {
  DedupCache::Options options;
  options.ttl_ms = ttl_ms;
  options.capacity = capacity;
  options.key = hash_key;
  auto cache = DedupCache::Create(options);
  if (!cache.ok()) return Fail(function, cache.status());
  *out = new lifeline_dedup_t{std::move(cache).value()};
  return LIFELINE_OK;
}

// Validates a (key, key_len) argument pair of a check or digest call.
lifeline_status CheckKey(const char* function, const void* key, size_t key_len) {
  if (key_len == 0) {
    return Fail(function, LIFELINE_E_INVALID_ARGUMENT,
                "key_len must be > 0: an empty key would make every later empty key a "
                "duplicate");
  }
  if (key == nullptr) {
    return Fail(function, LIFELINE_E_INVALID_ARGUMENT, "key must not be NULL when key_len > 0");
  }
  return LIFELINE_OK;
}

lifeline_status Answer(const char* function, const lifeline_dedup_t* d, DedupResult result,
                       int* out_duplicate) {
  switch (result) {
    case DedupResult::kFirstSeen:
      *out_duplicate = 0;
      return LIFELINE_OK;
    case DedupResult::kDuplicate:
      *out_duplicate = 1;
      return LIFELINE_OK;
    case DedupResult::kFull:
      break;
  }
  return Fail(function, LIFELINE_E_FULL,
              "the cache is full: all " + std::to_string(d->cache->capacity()) +
                  " entries are live at now_ms; the key was not remembered");
}

}  // namespace

extern "C" {

LIFELINE_API lifeline_status lifeline_dedup_new(int64_t ttl_ms, size_t capacity,
                                                lifeline_dedup_t** out) {
  static constexpr const char* kFn = "lifeline_dedup_new";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] { return NewCache(kFn, ttl_ms, capacity, DedupCache::kDefaultHashKey, out); });
}

LIFELINE_API lifeline_status lifeline_dedup_new_keyed(int64_t ttl_ms, size_t capacity,
                                                      const void* hash_key, size_t hash_key_len,
                                                      lifeline_dedup_t** out) {
  static constexpr const char* kFn = "lifeline_dedup_new_keyed";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  LIFELINE_REQUIRE_NOT_NULL(kFn, hash_key);
  if (hash_key_len != LIFELINE_DEDUP_HASH_KEY_SIZE) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "hash_key_len must be " + std::to_string(LIFELINE_DEDUP_HASH_KEY_SIZE) +
                    " (a 256-bit key), got " + std::to_string(hash_key_len));
  }
  return Guard(kFn, [&] {
    DedupCache::HashKey key;
    std::memcpy(key.data(), hash_key, key.size());
    return NewCache(kFn, ttl_ms, capacity, key, out);
  });
}

LIFELINE_API lifeline_status lifeline_dedup_check(lifeline_dedup_t* d, const void* key,
                                                  size_t key_len, int64_t now_ms,
                                                  int* out_duplicate) {
  static constexpr const char* kFn = "lifeline_dedup_check";
  LIFELINE_REQUIRE_NOT_NULL(kFn, d);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_duplicate);
  if (lifeline_status s = CheckKey(kFn, key, key_len); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    const DedupResult result =
        d->cache->Check(std::string_view(static_cast<const char*>(key), key_len), now_ms);
    return Answer(kFn, d, result, out_duplicate);
  });
}

LIFELINE_API lifeline_status lifeline_dedup_check_digest(lifeline_dedup_t* d,
                                                         const uint8_t* digest, int64_t now_ms,
                                                         int* out_duplicate) {
  static constexpr const char* kFn = "lifeline_dedup_check_digest";
  LIFELINE_REQUIRE_NOT_NULL(kFn, d);
  LIFELINE_REQUIRE_NOT_NULL(kFn, digest);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_duplicate);
  return Guard(kFn, [&] {
    const DedupResult result = d->cache->CheckDigest(DedupCache::Digest::FromBytes(digest), now_ms);
    return Answer(kFn, d, result, out_duplicate);
  });
}

LIFELINE_API lifeline_status lifeline_dedup_digest(const lifeline_dedup_t* d, const void* key,
                                                   size_t key_len, uint8_t* out, size_t cap) {
  static constexpr const char* kFn = "lifeline_dedup_digest";
  LIFELINE_REQUIRE_NOT_NULL(kFn, d);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  if (lifeline_status s = CheckKey(kFn, key, key_len); s != LIFELINE_OK) return s;
  if (cap < LIFELINE_DEDUP_DIGEST_SIZE) {
    return Fail(kFn, LIFELINE_E_BUFFER_TOO_SMALL,
                "buffer of " + std::to_string(cap) + " bytes is too small; " +
                    std::to_string(LIFELINE_DEDUP_DIGEST_SIZE) + " needed");
  }
  return Guard(kFn, [&] {
    const auto bytes =
        d->cache->DigestOf(std::string_view(static_cast<const char*>(key), key_len)).Bytes();
    std::memcpy(out, bytes.data(), bytes.size());
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_dedup_size(const lifeline_dedup_t* d, size_t* out_size) {
  static constexpr const char* kFn = "lifeline_dedup_size";
  LIFELINE_REQUIRE_NOT_NULL(kFn, d);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_size);
  *out_size = d->cache->size();
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_dedup_expire(lifeline_dedup_t* d, int64_t now_ms,
                                                   size_t* out_size) {
  static constexpr const char* kFn = "lifeline_dedup_expire";
  LIFELINE_REQUIRE_NOT_NULL(kFn, d);
  return Guard(kFn, [&] {
    const size_t held = d->cache->Expire(now_ms);
    if (out_size != nullptr) *out_size = held;
    return LIFELINE_OK;
  });
}

LIFELINE_API void lifeline_dedup_free(lifeline_dedup_t* d) { delete d; }

}  // extern "C"
