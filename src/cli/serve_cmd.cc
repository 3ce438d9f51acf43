// `loom serve [MODEL]`: the OpenAI-compatible server (flags named as vLLM's).
#include <fmt/format.h>
#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "core/threads.h"
#include "frontend/chat_template.h"
#include "server/server.h"

namespace loom::cli {
namespace {

namespace fs = std::filesystem;

struct Options {
  std::string model;
  std::string host = "0.0.0.0";
  int port = 8000;
  std::optional<std::string> api_key;
  std::optional<std::string> served_model_name;
  std::optional<std::string> chat_template;
  int threads = 0;
  std::string generation_config = "auto";
  int max_queued_requests = 0;
  double shutdown_timeout = 10;
  EngineConfig engine;
  std::string policy = "default";
  bool no_prefix_caching = false;
};

Status RunServe(Options o) {
  // SIGTERM/SIGINT are taken by one thread (sigwait) rather than a handler, so shutting down
  // may lock and wait. Blocked before any thread (OpenMP's, the engine's, HTTP workers) starts,
  // so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  SetNumThreads(o.threads);
  FinishEngineFlags(o.engine, o.policy, o.no_prefix_caching);
  if (o.model.empty()) {
    o.model = LOOM_BUILTIN_MODEL_DIR;
    if (!o.served_model_name) o.served_model_name = "builtin";
  }
  if (!o.api_key) {
    if (const char* env = std::getenv("LOOM_API_KEY")) o.api_key = env;
  }
  LOOM_ASSIGN_OR_RETURN(GenerationConfig gen,
                        LoadGenerationConfigFlag(o.generation_config, o.model));
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<LLM> llm, LLM::Load(o.model, o.engine));
  server::ServerConfig sc;
  sc.sampling_defaults = SamplingDefaults(gen);
  sc.host = o.host;
  sc.port = o.port;
  sc.api_key = o.api_key;
  sc.served_model_name = o.served_model_name.value_or(o.model);
  std::optional<fs::path> tmpl_file;
  if (o.chat_template) tmpl_file = *o.chat_template;
  sc.tokenizer_config = llm->tokenizer_config();
  // A model without a chat template still serves completions; a --chat-template that cannot be
  // read is an error.
  Result<std::string> tmpl = LoadChatTemplate(o.model, sc.tokenizer_config, tmpl_file, false);
  if (tmpl.ok()) {
    sc.chat_template = *tmpl;
  } else if (tmpl_file) {
    return tmpl.status();
  }
  const int max_model_len = llm->engine().max_model_len();
  server::Server srv(std::make_unique<AsyncEngine>(std::move(llm), o.max_queued_requests), sc);
  LOOM_ASSIGN_OR_RETURN(int port, srv.Bind());
  std::thread on_signal([&srv, &signals, grace = o.shutdown_timeout] {
    int sig = 0;
    sigwait(&signals, &sig);
    fmt::print(stderr, "loom: {} received: finishing requests in flight (at most {} s)\n",
               strsignal(sig), grace);
    srv.Shutdown(std::chrono::milliseconds(static_cast<int64_t>(grace * 1000)));
  });
  fmt::print("loom serving {} (max_model_len {}) on http://{}:{}/v1\n", sc.served_model_name,
             max_model_len, o.host, port);
  std::fflush(stdout);
  srv.Listen();  // returns once Shutdown stopped it and every request in flight is answered
  on_signal.join();
  return Status::Ok();
}

}  // namespace

void AddServeCommand(CLI::App& app, std::function<Status()>& run) {
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over the OpenAI API");
  auto o = std::make_shared<Options>();
  cmd->add_option("model", o->model,
                  "Hugging Face checkpoint directory (default: the built-in model)");
  cmd->add_option("--host", o->host, "Address to listen on");
  cmd->add_option("--port", o->port, "Port (0 = any free port)")->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", o->api_key, "Require this key (also LOOM_API_KEY)");
  cmd->add_option("--served-model-name", o->served_model_name,
                  "Model name in the API (default: MODEL)");
  cmd->add_option("--chat-template", o->chat_template, "Jinja chat template file");
  cmd->add_option("--threads", o->threads, "Worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-queued-requests", o->max_queued_requests,
                  "Answer 503 to new requests while this many wait to be scheduled (0 = no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--shutdown-timeout", o->shutdown_timeout,
                  "Seconds SIGTERM/SIGINT wait for requests in flight before aborting them")
      ->check(CLI::NonNegativeNumber);
  AddEngineFlags(cmd, o->engine, o->policy, o->no_prefix_caching);
  AddGenerationConfigFlag(cmd, o->generation_config);
  cmd->callback([&run, o] { run = [o] { return RunServe(*o); }; });
}

}  // namespace loom::cli
