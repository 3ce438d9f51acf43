// Request latency distributions the server exports (vLLM's TTFT, inter-token and end-to-end
// histograms): Prometheus histograms with cumulative buckets, observed by the AsyncEngine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loom {

struct Histogram {
  explicit Histogram(std::vector<double> upper_bounds)
      : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}
  void Observe(double v) {
    size_t i = 0;
    while (i < bounds.size() && v > bounds[i]) ++i;
    ++counts[i];  // counts[bounds.size()] is the +Inf bucket
    sum += v;
    ++count;
  }
  std::vector<double> bounds;    // bucket upper bounds (le), ascending
  std::vector<uint64_t> counts;  // per bucket, not cumulative
  double sum = 0;
  uint64_t count = 0;
};

struct ServingMetrics {
  // vLLM's buckets, with finer ones below 10 ms for inter-token latency: small models on a CPU
  // produce tokens every few milliseconds.
  Histogram time_to_first_token{{0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                 0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                 20.0,  40.0,  80.0, 160.0, 640.0, 2560.0}};
  Histogram inter_token_latency{{0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075,
                                 0.1,   0.15,   0.2,   0.3,    0.4,  0.5,   0.75, 1.0,
                                 2.5,   5.0,    7.5,   10.0,   20.0, 40.0,  80.0}};
  Histogram e2e_request_latency{{0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                 5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}};
  std::map<std::string, int64_t> requests_finished;  // by finish reason: stop, length, abort
};

}  // namespace loom
