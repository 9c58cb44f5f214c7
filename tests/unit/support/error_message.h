// The message of the exception a test's action throws, for tests that check what an error says.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "rsd/util/error.h"

namespace rsd::test {

/// The what() of the `Expected` that `action` throws; fails the test and returns "" when it
/// throws nothing. Other exceptions propagate (gtest reports them).
template <typename Expected = rsd::Error, typename Action>
std::string error_message(Action&& action) {
  try {
    action();
  } catch (const Expected& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an exception, none was thrown";
  return {};
}

}  // namespace rsd::test
