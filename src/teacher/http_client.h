// A minimal blocking HTTP POST over libcurl for the VLM teacher: one easy handle per request (safe
// from many threads at once), a total timeout, and a cap on the response body.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rsd::teacher::detail {

struct HttpRequest {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"; may hold secrets, never logged
  double timeout_s = 60.0;           // whole request, connection included
  std::size_t max_response_bytes = 1 << 20;
};

struct HttpResponse {
  enum class Outcome { ok, timeout, too_large, failed };
  Outcome outcome = Outcome::failed;
  long status = 0;       // HTTP status when outcome == ok
  std::string body;
  std::string error;     // what went wrong otherwise
};

/// POSTs request.body; never throws for network failures (see Outcome).
HttpResponse http_post(const HttpRequest& request);

}  // namespace rsd::teacher::detail
