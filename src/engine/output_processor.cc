#include "engine/output_processor.h"

namespace loom {

void OutputProcessor::Add(const std::string& id, const SamplingParams& params,
                          std::span<const int32_t> prompt_ids) {
  if (!tokenizer_) return;
  states_.emplace(id,
                  State{StreamingDetokenizer(*tokenizer_, params.skip_special_tokens, prompt_ids),
                        StopChecker(params), params.min_tokens});
}

std::string OutputProcessor::Process(RequestOutput& out, EngineCore& engine) {
  auto it = states_.find(out.id);
  if (it == states_.end() || it->second.done) return "";
  State& s = it->second;
  bool stopped = false;
  for (int32_t id : out.new_token_ids) {
    std::string piece = s.detok.Push(id);
    ++s.num_tokens;
    if (out.finished && id == out.new_token_ids.back()) piece += s.detok.Flush();
    s.text += piece;
    // As vLLM: stop strings count only text decoded after the min_tokens-th token.
    if (s.num_tokens <= s.min_tokens || s.stop.stop().empty()) continue;
    const StopCheck c = s.stop.Check(s.text, piece.size());
    if (c.stopped) {
      s.text.resize(c.kept.size());
      stopped = true;
      break;
    }
  }
  if (stopped) {
    if (!out.finished) engine.Abort(out.id);
    out.finished = true;
    out.finish_reason = FinishReason::kStop;
  }
  s.done = out.finished;
  const size_t hold = s.done ? 0 : s.stop.HoldBack(s.text);
  const size_t release_to = std::max(s.sent, s.text.size() - std::min(hold, s.text.size()));
  std::string released = s.text.substr(s.sent, release_to - s.sent);
  s.sent = release_to;
  return released;
}

}  // namespace loom
