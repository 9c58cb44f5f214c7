// A fresh folder per test, removed afterwards, with helpers to write files into it.
#pragma once

#include <string>

namespace rsd::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path()/relative
  std::string file(const std::string& relative) const;
  /// Writes `contents` to path()/relative (creating folders) and returns the full path.
  std::string write(const std::string& relative, const std::string& contents) const;

 private:
  std::string path_;
};

/// Reads a whole file (test helper; fails the test when it cannot).
std::string read_text(const std::string& path);

}  // namespace rsd::test
