#include "support/http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace rsd::test {
namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    // MSG_NOSIGNAL: a client that gave up (timeout test) must not kill the test with SIGPIPE.
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace

HttpTestServer::HttpTestServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("test server: socket() failed");
  const int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // any free port
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("test server: cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

HttpTestServer::~HttpTestServer() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stopped_.notify_all();
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> connections;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& thread : connections) thread.join();
}

std::string HttpTestServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<HttpExchange> HttpTestServer::requests() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void HttpTestServer::accept_loop() {
  while (!stop_) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 20) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    const std::lock_guard<std::mutex> lock(mutex_);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void HttpTestServer::serve(int fd) {
  // Reads until the headers are complete, then Content-Length bytes of body.
  std::string data;
  const auto read_more = [&]() {
    pollfd waiting{fd, POLLIN, 0};
    while (!stop_) {
      if (::poll(&waiting, 1, 20) > 0) {
        char buffer[65536];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        data.append(buffer, static_cast<std::size_t>(n));
        return true;
      }
    }
    return false;
  };
  std::size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) {
      ::close(fd);
      return;
    }
  }
  HttpExchange exchange;
  std::size_t line_end = data.find("\r\n");
  const std::string request_line = data.substr(0, line_end);
  const std::size_t first_space = request_line.find(' ');
  const std::size_t second_space = request_line.find(' ', first_space + 1);
  exchange.method = request_line.substr(0, first_space);
  exchange.path = request_line.substr(first_space + 1, second_space - first_space - 1);
  for (std::size_t at = line_end + 2; at < header_end; at = line_end + 2) {
    line_end = data.find("\r\n", at);
    const std::string line = data.substr(at, line_end - at);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    exchange.headers[lower(line.substr(0, colon))] = value;
  }
  if (lower(exchange.headers["expect"]) == "100-continue") {
    send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
  }
  const std::size_t body_length =
      exchange.headers.count("content-length") ? std::stoul(exchange.headers["content-length"]) : 0;
  while (data.size() < header_end + 4 + body_length) {
    if (!read_more()) {
      ::close(fd);
      return;
    }
  }
  exchange.body = data.substr(header_end + 4, body_length);

  int index;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    index = static_cast<int>(requests_.size());
    requests_.push_back(exchange);
  }
  const int now_in_flight = ++in_flight_;
  for (int seen = max_in_flight_; now_in_flight > seen && !max_in_flight_.compare_exchange_weak(seen, now_in_flight);) {
  }
  const HttpReply reply = handler_(exchange, index);
  if (reply.delay_ms > 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    stopped_.wait_for(lock, std::chrono::milliseconds(reply.delay_ms), [this] { return stop_.load(); });
  }
  // Counted out before the reply leaves, so a client's next request never overlaps this one.
  --in_flight_;
  send_all(fd, "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) +
                   "\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" + reply.body);
  ::close(fd);
}

}  // namespace rsd::test
