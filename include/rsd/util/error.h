// librsd's errors. Every failure the library reports is an rsd::Error (or a subclass that callers
// may branch on); messages name the file, key, clip or frame concerned.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace rsd {

/// Base of every error librsd throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A config file, key, value or command-line override is wrong. Apps exit with status 2.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A dataset file (annotation, image, split list, risk cache) is missing or malformed.
class DataError : public Error {
 public:
  using Error::Error;
};

/// A checkpoint cannot be written, read or does not match the model.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

namespace detail {

inline void append_parts(std::ostringstream&) {}

template <typename First, typename... Rest>
void append_parts(std::ostringstream& out, const First& first, const Rest&... rest) {
  out << first;
  append_parts(out, rest...);
}

/// Joins the streamed parts of a message into one string.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  append_parts(out, parts...);
  return out.str();
}

[[noreturn]] void throw_check_failure(const char* file, int line, const char* condition,
                                      const std::string& message);

}  // namespace detail
}  // namespace rsd

/// RSD_CHECK(cond, parts...): throws rsd::Error "file:line: check failed: cond: parts" when cond
/// is false. The parts are streamed with operator<< and only evaluated on failure.
#define RSD_CHECK(...) RSD_CHECK_IMPL_(__VA_ARGS__, "")
#define RSD_CHECK_IMPL_(cond, ...)                                                           \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      ::rsd::detail::throw_check_failure(__FILE__, __LINE__, #cond,                          \
                                         ::rsd::detail::concat(__VA_ARGS__));                \
    }                                                                                        \
  } while (false)

/// Comparison checks that print both values: RSD_CHECK_EQ(x.size(0), 6, "cameras in ", path).
#define RSD_CHECK_EQ(...) RSD_CHECK_OP_IMPL_(==, __VA_ARGS__, "")
#define RSD_CHECK_NE(...) RSD_CHECK_OP_IMPL_(!=, __VA_ARGS__, "")
#define RSD_CHECK_LT(...) RSD_CHECK_OP_IMPL_(<, __VA_ARGS__, "")
#define RSD_CHECK_LE(...) RSD_CHECK_OP_IMPL_(<=, __VA_ARGS__, "")
#define RSD_CHECK_GT(...) RSD_CHECK_OP_IMPL_(>, __VA_ARGS__, "")
#define RSD_CHECK_GE(...) RSD_CHECK_OP_IMPL_(>=, __VA_ARGS__, "")
#define RSD_CHECK_OP_IMPL_(op, a, b, ...)                                                      \
  do {                                                                                         \
    const auto& rsd_check_a_ = (a);                                                            \
    const auto& rsd_check_b_ = (b);                                                            \
    if (!(rsd_check_a_ op rsd_check_b_)) {                                                     \
      ::rsd::detail::throw_check_failure(                                                      \
          __FILE__, __LINE__, #a " " #op " " #b,                                               \
          ::rsd::detail::concat("(", rsd_check_a_, " vs ", rsd_check_b_, ") ", __VA_ARGS__));  \
    }                                                                                          \
  } while (false)
