// The VLM teacher's answer parser: answers come from the network, so any text must end in
// objects or a rsd/InvalidAnswer error, never a crash or an unbounded amount of work.
#include "answer_parser.h"
#include "fuzz_input.h"
#include "rsd/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace detail = rsd::teacher::detail;
  const std::string text = rsd::fuzz::as_string(data, size);
  try {
    detail::parse_untrusted_json(text, "fuzz input");
  } catch (const detail::InvalidAnswer&) {
  } catch (const rsd::Error&) {
  }
  try {
    const nlohmann::json answer = detail::extract_answer_json(text);
    detail::parse_answer_objects(answer);
  } catch (const detail::InvalidAnswer&) {
  } catch (const rsd::Error&) {
  }
  return 0;
}
