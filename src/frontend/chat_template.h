// Chat templates as transformers' `apply_chat_template` applies them: where the template comes
// from, which globals it sees, and continue_final_message.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/status.h"

namespace loom {

struct ChatTemplateRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // OpenAI-style messages
  std::optional<nlohmann::ordered_json> tools;                        // OpenAI-style tools array
  bool add_generation_prompt = false;
  bool continue_final_message = false;
  nlohmann::ordered_json extra_kwargs = nlohmann::ordered_json::object();  // e.g. enable_thinking
};

// Picks the template source as transformers does: an explicit file (--chat-template), else
// chat_template.jinja in a checkpoint directory, else the tokenizer config's `chat_template` (a
// string, or a list of {name, template} where "tool_use" is chosen when tools are given and
// "default" otherwise). `model` is the directory or .gguf file the config came from (for the
// .jinja file and messages); `tokenizer_config` is ModelTokenizer::config.
Result<std::string> LoadChatTemplate(const std::filesystem::path& model,
                                     const nlohmann::ordered_json& tokenizer_config,
                                     const std::optional<std::filesystem::path>& override_file,
                                     bool has_tools);

// Renders `tmpl` with transformers' globals: messages, tools (None when absent),
// add_generation_prompt, the special tokens of `tokenizer_config` (bos_token, eos_token, ...),
// extra kwargs; then applies continue_final_message (cut after the final message's text).
Result<std::string> RenderChat(const std::string& tmpl,
                               const nlohmann::ordered_json& tokenizer_config,
                               const ChatTemplateRequest& request);

}  // namespace loom
