// GET /metrics: Prometheus text with vLLM's metric names under the loom: prefix.
#include <fmt/format.h>

#include "server/handlers.h"

namespace loom::server {
namespace {

class Writer {
 public:
  explicit Writer(const std::string& model_name)
      : label_(fmt::format("model_name=\"{}\"", model_name)) {}

  void Scalar(const char* name, const char* type, const char* help, double v) {
    Head(name, type, help);
    out_ += fmt::format("loom:{}{{{}}} {}\n", name, label_, v);
  }
  void Histogram(const char* name, const char* help, const loom::Histogram& h) {
    Head(name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h.bounds.size(); ++i) {
      cumulative += h.counts[i];
      const std::string le = i < h.bounds.size() ? fmt::format("{}", h.bounds[i]) : "+Inf";
      out_ += fmt::format("loom:{}_bucket{{{},le=\"{}\"}} {}\n", name, label_, le, cumulative);
    }
    out_ += fmt::format("loom:{}_sum{{{}}} {}\nloom:{}_count{{{}}} {}\n", name, label_, h.sum, name,
                        label_, h.count);
  }
  void Labelled(const char* name, const char* type, const char* help,
                const std::map<std::string, int64_t>& values, const char* label) {
    Head(name, type, help);
    for (const auto& [key, v] : values)
      out_ += fmt::format("loom:{}{{{},{}=\"{}\"}} {}\n", name, label_, label, key, v);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Head(const char* name, const char* type, const char* help) {
    out_ += fmt::format("# HELP loom:{} {}\n# TYPE loom:{} {}\n", name, help, name, type);
  }
  std::string label_;
  std::string out_;
};

}  // namespace

std::string RenderMetrics(AsyncEngine& engine, const std::string& model_name) {
  const EngineStats st = engine.stats();
  const ServingMetrics m = engine.metrics();
  Writer w(model_name);
  w.Scalar("num_requests_running", "gauge", "Requests in the running batch.",
           static_cast<double>(st.num_running));
  w.Scalar("num_requests_waiting", "gauge", "Requests waiting to be scheduled.",
           static_cast<double>(st.num_waiting));
  w.Scalar(
      "kv_cache_usage_perc", "gauge", "Fraction of KV blocks held by requests (1 = full).",
      st.total_blocks == 0 ? 0.0 : 1.0 - static_cast<double>(st.free_blocks) / st.total_blocks);
  w.Scalar("prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.",
           static_cast<double>(st.prefix_query_tokens));
  w.Scalar("prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.",
           static_cast<double>(st.prefix_hit_tokens));
  w.Scalar("prompt_tokens_total", "counter", "Prompt tokens computed.",
           static_cast<double>(st.prompt_tokens));
  w.Scalar("generation_tokens_total", "counter", "Tokens generated.",
           static_cast<double>(st.generated_tokens));
  w.Scalar("num_preemptions_total", "counter", "Requests preempted by recompute.",
           static_cast<double>(st.preemptions));
  w.Labelled("request_success_total", "counter", "Requests finished, by finish reason.",
             m.requests_finished, "finished_reason");
  w.Histogram("time_to_first_token_seconds", "Time from arrival to the first generated token.",
              m.time_to_first_token);
  w.Histogram("inter_token_latency_seconds",
              "Time between consecutive generated tokens of a request.", m.inter_token_latency);
  w.Histogram("e2e_request_latency_seconds",
              "Time from arrival to the last token (aborted requests excluded).",
              m.e2e_request_latency);
  return w.Take();
}

}  // namespace loom::server
