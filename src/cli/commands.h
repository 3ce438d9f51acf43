// `loom` subcommands. Each registers its flags on the app and runs when parsed; a failure is one
// "error: ..." line on stderr and exit code 1 (main.cc).
#pragma once

#include <CLI/CLI.hpp>

#include "core/status.h"

namespace loom::cli {

// Registers the subcommand; `run` is set to the function to call after parsing.
void AddModelsCommand(CLI::App& app, std::function<Status()>& run);
void AddGenerateCommand(CLI::App& app, std::function<Status()>& run);
void AddBenchCommand(CLI::App& app, std::function<Status()>& run);
// `bench serve`, a subcommand of `bench`: an HTTP client that loads a running server.
void AddBenchServeCommand(CLI::App& bench, std::function<Status()>& run);
void AddBenchPerplexityCommand(CLI::App& bench, std::function<Status()>& run);
// `bench latency` and `bench throughput` (bench_latency_cmd.cc).
void AddBenchLatencyCommands(CLI::App& bench, std::function<Status()>& run);
void AddTokenizeCommands(CLI::App& app, std::function<Status()>& run);  // tokenize, detokenize
void AddRenderCommand(CLI::App& app, std::function<Status()>& run);
void AddServeCommand(CLI::App& app, std::function<Status()>& run);

}  // namespace loom::cli
