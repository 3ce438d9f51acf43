// Stop strings over detokenized text, as vLLM's detokenizer does (check_stop_strings and
// get_next_output_text in vllm/v1/engine/detokenizer.py).
//
// Text is UTF-8. "Characters" in vLLM's rules are Python code points; this class counts them the
// same way but reports byte offsets so callers can slice std::string directly. A stop string
// matched bytewise in valid UTF-8 always starts on a code point boundary.
//
// vLLM skips the stop-string check until more than min_tokens tokens exist and, once they do,
// only counts text decoded after the min_tokens-th token as new; the caller, which knows token
// boundaries, applies that by calling Check only then and with that `new_bytes`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampling/sampling_params.h"

namespace loom {

struct StopCheck {
  bool stopped = false;
  int stop_index = -1;    // which entry of stop() matched
  std::string_view kept;  // prefix of the checked text to keep (all of it when not stopped)
  size_t hold_back = 0;   // bytes at the end of `kept` a stream must not emit yet (0 if stopped)
};

class StopChecker {
 public:
  StopChecker(std::vector<std::string> stop, bool include_stop_str_in_output);
  explicit StopChecker(const SamplingParams& params)
      : StopChecker(params.stop, params.include_stop_str_in_output) {}

  // `text` is the whole output so far, ending with the `new_bytes` just appended. Finds the stop
  // string whose match completes first within the new text (a match may begin up to
  // len(stop) - 1 bytes before it, so one spanning two deltas is found); equal ends go to the
  // earlier entry of the stop list. On a match, `kept` ends before the stop string, or after it
  // with include_stop_str_in_output (text past it is dropped either way).
  StopCheck Check(std::string_view text, size_t new_bytes) const;

  // Bytes to hold back from the end of an unfinished stream: max(len(stop)) - 1 code points as
  // vLLM (0 with include_stop_str_in_output or no stop strings), at most all of `text`.
  size_t HoldBack(std::string_view text) const;

  const std::vector<std::string>& stop() const { return stop_; }

 private:
  std::vector<std::string> stop_;
  bool include_in_output_;
  size_t buffer_chars_ = 0;  // code points held back while streaming
};

}  // namespace loom
