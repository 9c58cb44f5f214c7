#include "rsd/util/error.h"

#include <cstring>

namespace rsd::detail {

[[noreturn]] void throw_check_failure(const char* file, int line, const char* condition,
                                      const std::string& message) {
  // Only the file name: absolute build paths make messages long without helping the reader.
  const char* slash = std::strrchr(file, '/');
  const char* name = slash != nullptr ? slash + 1 : file;
  std::string text = concat(name, ":", line, ": check failed: ", condition);
  // The macros append an empty part and a separator; drop the trailing blanks they leave.
  const auto end = message.find_last_not_of(' ');
  if (end != std::string::npos) text += ": " + message.substr(0, end + 1);
  throw Error(text);
}

}  // namespace rsd::detail
