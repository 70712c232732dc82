// http_directory.hpp -- the live stakeholder lookup over HTTP.
//
// Overview: `HttpDirectoryProvider` implements the cascade's
// `DirectoryProvider` port (stakeholder_directory.hpp) against an HRIS or
// identity service: `Lookup("m-1", timeout)` sends
//
//   GET {base_url}/{url-encoded member id}      (plus the configured headers)
//
// with `timeout` as the transfer timeout, and expects 200 with one member in
// the directory's JSON form ({"id", "channels", "addresses", "tier",
// "timeZone", "quietHours"}). Anything else -- a transport error, a timeout,
// a non-200 status, a body that is not such a member -- is a non-OK status,
// and the engine falls back to the cached record flagged
// `stale_contact_data`. Status messages carry the HTTP status or the
// transport error kind, never the body (contact data is PII).
//
// Example:
//
//   lifeline::HttpDirectoryProvider hris({"https://hris.example/api/contacts",
//                                          {{"Authorization", "Bearer ..."}}}, transport);
//   auto member = hris.Lookup("m-1", 2000);
//
// Thread-safety: Lookup blocks its caller until the transport answers; it
// may be called from any thread except the transport's own.
#ifndef LIFELINE_LIB_PROVIDERS_HTTP_DIRECTORY_HPP_
#define LIFELINE_LIB_PROVIDERS_HTTP_DIRECTORY_HPP_

#include <atomic>
#include <cstdint>
#include <string>

#include "lifeline/http_transport.hpp"
#include "lifeline/stakeholder_directory.hpp"

namespace lifeline {

struct HttpDirectoryOptions {
  std::string base_url;   // e.g. "https://hris.example/api/contacts"
  HttpHeaders headers;    // added to every request
};

class HttpDirectoryProvider : public DirectoryProvider {
 public:
  // `transport` must outlive the provider.
  HttpDirectoryProvider(HttpDirectoryOptions options, HttpTransport* transport)
      : options_(std::move(options)), transport_(transport) {}

  Result<StakeholderMember> Lookup(const std::string& member_id, DurationMillis timeout) override;

  // Lookups answered with a valid member / refused (any failure).
  std::int64_t successes() const { return successes_.load(); }
  std::int64_t failures() const { return failures_.load(); }

 private:
  Result<StakeholderMember> DoLookup(const std::string& member_id, DurationMillis timeout);

  HttpDirectoryOptions options_;
  HttpTransport* transport_;
  std::atomic<std::int64_t> successes_{0};
  std::atomic<std::int64_t> failures_{0};
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_PROVIDERS_HTTP_DIRECTORY_HPP_
