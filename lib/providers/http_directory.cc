// http_directory.cc -- see http_directory.hpp.
#include "providers/http_directory.hpp"

#include <chrono>
#include <future>
#include <memory>

#include <rapidjson/document.h>

#include "http/form_encoding.hpp"

namespace lifeline {

Result<StakeholderMember> HttpDirectoryProvider::Lookup(const std::string& member_id,
                                                        DurationMillis timeout) {
  Result<StakeholderMember> r = DoLookup(member_id, timeout);
  (r.ok() ? successes_ : failures_).fetch_add(1);
  return r;
}

Result<StakeholderMember> HttpDirectoryProvider::DoLookup(const std::string& member_id,
                                                          DurationMillis timeout) {
  auto encoded = UrlEncode(member_id);
  if (!encoded.ok()) return InvalidArgument("directory lookup: member id cannot be encoded");
  std::string url = options_.base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  HttpRequest req;
  req.method = "GET";
  req.url = url + "/" + *encoded;
  req.headers = options_.headers;
  req.headers.emplace_back("Accept", "application/json");
  req.timeout_ms = timeout > 0 ? timeout : 1;
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> answer = promise->get_future();
  transport_->Send(std::move(req), [promise](HttpResponse r) { promise->set_value(std::move(r)); });
  // The transport enforces the timeout; the margin only guards against a
  // transport that never answers.
  if (answer.wait_for(std::chrono::milliseconds(timeout + 5000)) != std::future_status::ready) {
    return Status(StatusCode::kTimeout, "directory lookup: no answer");
  }
  HttpResponse r = answer.get();
  if (!r.ok()) {
    return Status(r.error == TransportError::kTimeout ? StatusCode::kTimeout : StatusCode::kUnavailable,
                  std::string("directory lookup: transport error (") + TransportErrorName(r.error) + ")");
  }
  if (r.status != 200) {
    return Status(r.status == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable,
                  "directory lookup: HTTP " + std::to_string(r.status));
  }
  rapidjson::Document d;
  d.Parse(r.body.c_str(), r.body.size());
  if (d.HasParseError() || !d.IsObject()) {
    return InvalidArgument("directory lookup: the answer is not a JSON object");
  }
  // The body is one well-formed object: the directory parser checks it as a
  // member (and refuses unknown keys, naming the path, never the value).
  auto one = StakeholderDirectory::FromJson("{\"members\":[" + r.body + "]}");
  if (!one.ok()) return InvalidArgument("directory lookup: " + one.status().message());
  const StakeholderMember* m = one->FindMember(member_id);
  if (m == nullptr) return InvalidArgument("directory lookup: the answer is for another member");
  return *m;
}

}  // namespace lifeline
