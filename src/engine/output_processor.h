// Turns engine token outputs into text as vLLM's output processor does: incremental
// detokenization (never a broken UTF-8 sequence), stop strings (found across token boundaries,
// only after min_tokens), and the text a stream may release now (stop-string prefixes held back).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "engine/engine_core.h"
#include "engine/sampling/stop_checker.h"
#include "tokenizer/tokenizer.h"

namespace loom {

class OutputProcessor {
 public:
  explicit OutputProcessor(std::optional<Tokenizer> tokenizer) : tokenizer_(std::move(tokenizer)) {}

  void Add(const std::string& id, const SamplingParams& params,
           std::span<const int32_t> prompt_ids);

  // Applies one step's tokens of `out.id` and returns the newly releasable text; on `finished`
  // (or a stop string) releases everything left. A stop string finishes the request: it is
  // aborted in `engine` (its blocks freed now) and `out` is marked finished with reason stop.
  std::string Process(RequestOutput& out, EngineCore& engine);
  // The request's whole text so far (including held-back text); then forgets it on Remove.
  const std::string& Text(const std::string& id) const { return states_.at(id).text; }
  void Remove(const std::string& id) { states_.erase(id); }

 private:
  struct State {
    StreamingDetokenizer detok;
    StopChecker stop;
    int min_tokens = 0;
    int num_tokens = 0;
    std::string text;  // decoded so far (after stop-string truncation)
    size_t sent = 0;   // bytes of `text` already released
    bool done = false;
  };
  std::optional<Tokenizer> tokenizer_;
  std::map<std::string, State> states_;
};

}  // namespace loom
