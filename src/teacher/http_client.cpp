#include "http_client.h"

#include <curl/curl.h>

#include <cmath>
#include <memory>
#include <mutex>

#include "rsd/util/error.h"

namespace rsd::teacher::detail {
namespace {

struct Sink {
  std::string* body;
  std::size_t limit;
  bool overflowed = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->limit) {
    sink->overflowed = true;
    return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw Error("libcurl could not be initialised (curl_global_init failed)");
    }
  });
}

}  // namespace

HttpResponse http_post(const HttpRequest& request) {
  global_init();
  HttpResponse response;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    response.error = "curl_easy_init failed";
    return response;
  }
  curl_slist* raw_headers = nullptr;
  raw_headers = curl_slist_append(raw_headers, "Content-Type: application/json");
  // Without this, curl sends "Expect: 100-continue" for large bodies (our images) and waits up to
  // a second for a reply that many servers never send.
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  for (const auto& header : request.headers) raw_headers = curl_slist_append(raw_headers, header.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers,
                                                                      curl_slist_free_all);

  Sink sink{&response.body, request.max_response_bytes};
  char error_text[CURL_ERROR_SIZE] = {0};
  const auto timeout_ms = static_cast<long>(std::ceil(request.timeout_s * 1000.0));
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // Timeouts through signals are not thread-safe; requests run on several threads.
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  // A declared Content-Length over the cap is refused before any byte is read.
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_response_bytes));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_text);

  const CURLcode code = curl_easy_perform(handle);
  if (code == CURLE_OK) {
    response.outcome = HttpResponse::Outcome::ok;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }
  response.body.clear();
  if (code == CURLE_OPERATION_TIMEDOUT) {
    response.outcome = HttpResponse::Outcome::timeout;
    response.error = "no complete answer within " + std::to_string(timeout_ms) + " ms";
  } else if (code == CURLE_FILESIZE_EXCEEDED || (code == CURLE_WRITE_ERROR && sink.overflowed)) {
    response.outcome = HttpResponse::Outcome::too_large;
    response.error = "response body larger than " + std::to_string(request.max_response_bytes) +
                     " bytes";
  } else {
    response.outcome = HttpResponse::Outcome::failed;
    response.error = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
  }
  return response;
}

}  // namespace rsd::teacher::detail
