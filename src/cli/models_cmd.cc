// `loom models [--json]`: the architecture registry and the interfaces each one implements.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "models/registry.h"

namespace loom::cli {
namespace {

Status PrintModels(bool json) {
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const ModelEntry& e : ModelRegistry()) {
      nlohmann::ordered_json o;
      o["architecture"] = e.info.architecture;
      o["runner"] = RunnerTypeName(e.info.runner);
      o["attention"] = AttentionTypeName(e.info.attention);
      for (const ModelInfoFlag& f : ModelInfoFlags()) o[std::string(f.name)] = e.info.*f.field;
      out.push_back(std::move(o));
    }
    fmt::print("{}\n", out.dump(2));
    return Status::Ok();
  }
  size_t width = 12;
  for (const ModelEntry& e : ModelRegistry()) width = std::max(width, e.architecture.size());
  std::string header =
      fmt::format("{:<{}}  {:<8}  {:<9}", "architecture", width, "runner", "attention");
  for (const ModelInfoFlag& f : ModelInfoFlags()) header += fmt::format("  {}", f.name);
  fmt::print("{}\n", header);
  for (const ModelEntry& e : ModelRegistry()) {
    std::string line =
        fmt::format("{:<{}}  {:<8}  {:<9}", e.info.architecture, width,
                    RunnerTypeName(e.info.runner), AttentionTypeName(e.info.attention));
    for (const ModelInfoFlag& f : ModelInfoFlags()) {
      line += fmt::format("  {:<{}}", e.info.*f.field ? "yes" : "-", f.name.size());
    }
    fmt::print("{}\n", line);
  }
  return Status::Ok();
}

}  // namespace

void AddModelsCommand(CLI::App& app, std::function<Status()>& run) {
  CLI::App* cmd = app.add_subcommand("models", "List supported architectures and their interfaces");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print a JSON array");
  cmd->callback([&run, json] { run = [json] { return PrintModels(*json); }; });
}

}  // namespace loom::cli
