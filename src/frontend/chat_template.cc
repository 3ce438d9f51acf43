#include "frontend/chat_template.h"

#include <fstream>
#include <sstream>

#include "frontend/jinja/template.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

Result<std::string> ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return NotFound("{}: cannot open", p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Special tokens are strings or AddedToken dicts ({"content": ...}) in tokenizer_config.json.
std::optional<std::string> TokenString(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

// The text transformers looks for when continuing the final message.
Result<std::string> FinalMessageText(const ordered_json& messages) {
  if (!messages.is_array() || messages.empty()) {
    return InvalidArgument("continue_final_message needs at least one message");
  }
  const ordered_json& content = messages.back().value("content", ordered_json());
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    for (auto it = content.rbegin(); it != content.rend(); ++it) {
      if (it->is_object() && it->contains("text") && (*it)["text"].is_string())
        return (*it)["text"].get<std::string>();
    }
  }
  return InvalidArgument(
      "continue_final_message is set but the final message has no text to continue");
}

std::string Strip(const std::string& s, bool left, bool right) {
  const char* ws = " \t\n\r\f\v";
  size_t b = left ? s.find_first_not_of(ws) : 0;
  if (b == std::string::npos) return "";
  size_t e = right ? s.find_last_not_of(ws) + 1 : s.size();
  return s.substr(b, e - b);
}

}  // namespace

Result<std::string> LoadChatTemplate(const fs::path& model, const ordered_json& config,
                                     const std::optional<fs::path>& override_file, bool has_tools) {
  if (override_file) return ReadText(*override_file);
  if (fs::is_directory(model) && fs::exists(model / "chat_template.jinja"))
    return ReadText(model / "chat_template.jinja");
  const std::string config_path =
      fs::is_directory(model) ? (model / "tokenizer_config.json").string() : model.string();
  const ordered_json t =
      config.is_object() ? config.value("chat_template", ordered_json()) : ordered_json();
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    std::optional<std::string> def, tool_use;
    for (const ordered_json& e : t) {
      if (!e.is_object() || !e.contains("name") || !e.contains("template") ||
          !e["template"].is_string())
        continue;
      if (e["name"] == "default") def = e["template"].get<std::string>();
      if (e["name"] == "tool_use") tool_use = e["template"].get<std::string>();
    }
    if (has_tools && tool_use) return *tool_use;
    if (def) return *def;
    return InvalidArgument("{}: chat_template has several named templates but none named 'default'",
                           config_path);
  }
  return NotFound("{}: no chat_template; pass --chat-template", config_path);
}

Result<std::string> RenderChat(const std::string& tmpl, const ordered_json& tokenizer_config,
                               const ChatTemplateRequest& r) {
  if (r.add_generation_prompt && r.continue_final_message) {
    return InvalidArgument("add_generation_prompt and continue_final_message cannot both be set");
  }
  ordered_json ctx = ordered_json::object();
  for (const char* name : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                           "cls_token", "mask_token"}) {
    if (!tokenizer_config.is_object() || !tokenizer_config.contains(name)) continue;
    if (auto s = TokenString(tokenizer_config[name])) ctx[name] = *s;
  }
  if (tokenizer_config.is_object() && tokenizer_config.contains("additional_special_tokens") &&
      tokenizer_config["additional_special_tokens"].is_array()) {
    ordered_json extra = ordered_json::array();
    for (const auto& t : tokenizer_config["additional_special_tokens"]) {
      if (auto s = TokenString(t)) extra.push_back(*s);
    }
    ctx["additional_special_tokens"] = extra;
  }
  // Messages reach the template as given (transformers semantics: tool-call arguments stay a
  // string or an object, whichever the caller sent).
  const ordered_json& messages = r.messages;
  ctx["messages"] = messages;
  ctx["tools"] = r.tools ? *r.tools : ordered_json(nullptr);
  ctx["documents"] = nullptr;  // transformers passes documents=None unless given
  ctx["add_generation_prompt"] = r.add_generation_prompt;
  for (const auto& [k, v] : r.extra_kwargs.items()) ctx[k] = v;

  LOOM_ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::Parse(tmpl));
  LOOM_ASSIGN_OR_RETURN(std::string out, t.Render(ctx));
  if (!r.continue_final_message) return out;

  LOOM_ASSIGN_OR_RETURN(std::string final_text, FinalMessageText(messages));
  const std::string stripped = Strip(final_text, true, true);
  const size_t loc = out.rfind(stripped);
  if (loc == std::string::npos) {
    return InvalidArgument(
        "continue_final_message is set but the final message does not appear in the rendered chat");
  }
  const std::string lstripped = Strip(final_text, true, false);
  // transformers: keep trailing spacing only when the template preserved it.
  if (out.compare(loc, lstripped.size(), final_text) == 0)
    return out.substr(0, loc + lstripped.size());
  return out.substr(0, loc + stripped.size());
}

}  // namespace loom
