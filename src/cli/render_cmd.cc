// `loom render`: a conversation through the checkpoint's chat template, printed exactly (no
// trailing newline), as transformers' apply_chat_template(tokenize=False) would.
#include <cstdio>
#include <fstream>
#include <optional>

#include "cli/commands.h"
#include "frontend/chat_template.h"
#include "tokenizer/model_tokenizer.h"

namespace loom::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct Options {
  std::string model;
  std::string messages;
  std::optional<std::string> chat_template;
  std::optional<std::string> tools;
  std::optional<std::string> kwargs;
  bool add_generation_prompt = false;
  bool continue_final_message = false;
};

Result<ordered_json> ReadJson(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return NotFound("{} {}: cannot open", flag, path);
  ordered_json j = ordered_json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("{} {}: not valid JSON", flag, path);
  return j;
}

Status RunRender(const Options& o) {
  ChatTemplateRequest req;
  LOOM_ASSIGN_OR_RETURN(req.messages, ReadJson(o.messages, "--messages"));
  if (!req.messages.is_array())
    return InvalidArgument("--messages {}: expected a JSON array of messages", o.messages);
  for (const ordered_json& m : req.messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return InvalidArgument("--messages {}: every message needs a string 'role'", o.messages);
    }
  }
  if (o.tools) {
    LOOM_ASSIGN_OR_RETURN(ordered_json tools, ReadJson(*o.tools, "--tools"));
    if (!tools.is_array())
      return InvalidArgument("--tools {}: expected a JSON array of tools", *o.tools);
    req.tools = std::move(tools);
  }
  if (o.kwargs) {
    req.extra_kwargs = ordered_json::parse(*o.kwargs, nullptr, /*allow_exceptions=*/false);
    if (!req.extra_kwargs.is_object()) {
      return InvalidArgument(
          "--chat-template-kwargs: expected a JSON object, e.g. '{{\"enable_thinking\": false}}'");
    }
  }
  req.add_generation_prompt = o.add_generation_prompt;
  req.continue_final_message = o.continue_final_message;

  std::optional<fs::path> override_file;
  if (o.chat_template) override_file = *o.chat_template;
  LOOM_ASSIGN_OR_RETURN(ordered_json config, LoadTokenizerConfig(o.model));
  LOOM_ASSIGN_OR_RETURN(std::string tmpl,
                        LoadChatTemplate(o.model, config, override_file, req.tools.has_value()));
  LOOM_ASSIGN_OR_RETURN(std::string out, RenderChat(tmpl, config, req));
  std::fwrite(out.data(), 1, out.size(), stdout);
  return Status::Ok();
}

}  // namespace

void AddRenderCommand(CLI::App& app, std::function<Status()>& run) {
  CLI::App* cmd = app.add_subcommand("render", "Render a conversation with the chat template");
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Directory with tokenizer_config.json / chat_template.jinja")
      ->required();
  cmd->add_option("--messages", o->messages, "JSON array of OpenAI-style messages")->required();
  cmd->add_option("--chat-template", o->chat_template,
                  "Jinja template file (overrides the model's)");
  cmd->add_option("--tools", o->tools, "JSON array of OpenAI-style tools");
  cmd->add_option("--chat-template-kwargs", o->kwargs,
                  "Extra template variables as inline JSON, e.g. {\"enable_thinking\": false}");
  cmd->add_flag("--add-generation-prompt", o->add_generation_prompt,
                "End with the assistant turn header");
  cmd->add_flag("--continue-final-message", o->continue_final_message,
                "Leave the final message open for continuation");
  cmd->callback([&run, o] { run = [o] { return RunRender(*o); }; });
}

}  // namespace loom::cli
