// A real HTTP/1.1 server on a loopback socket, for tests of HTTP clients: each connection gets its
// own thread, the handler decides the reply (status, body, delay), and every request received is
// kept for the test to inspect.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rsd::test {

struct HttpExchange {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  int delay_ms = 0;  // wait this long before answering (the wait ends early when the server stops)
};

class HttpTestServer {
 public:
  using Handler = std::function<HttpReply(const HttpExchange& request, int index)>;

  /// Listens on 127.0.0.1 at a free port. `handler` gets each request and its 0-based index.
  explicit HttpTestServer(Handler handler);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:<port><path>"
  std::string url(const std::string& path) const;
  std::vector<HttpExchange> requests() const;
  /// The most requests that were being handled at the same time.
  int max_in_flight() const { return max_in_flight_; }

 private:
  void accept_loop();
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  std::vector<HttpExchange> requests_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

}  // namespace rsd::test
