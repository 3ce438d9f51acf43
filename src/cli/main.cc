// loom: the command-line front door.
#include <cstdio>
#include <functional>

#include "cli/commands.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"Loom: LLM inference and serving on CPUs"};
  app.require_subcommand(1);
  std::function<loom::Status()> run;
  loom::cli::AddModelsCommand(app, run);
  loom::cli::AddGenerateCommand(app, run);
  loom::cli::AddBenchCommand(app, run);
  loom::cli::AddTokenizeCommands(app, run);
  loom::cli::AddRenderCommand(app, run);
  loom::cli::AddServeCommand(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, exit code 1, for every kind of bad command line.
    std::fprintf(stderr, "error: %s (see 'loom --help')\n", e.what());
    return 1;
  }
  loom::Status status;
  try {
    status = run();
  } catch (const std::bad_alloc&) {
    status = loom::Internal("out of memory");
  }
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.message().c_str());
    return 1;
  }
  return 0;
}
