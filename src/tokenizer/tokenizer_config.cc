// tokenizer_config.json (transformers). Only what inference needs is typed; everything stays in
// `raw`.
#include <fmt/format.h>

#include "tokenizer/json_util.h"
#include "tokenizer/tokenizer.h"

namespace loom {
namespace {

constexpr std::string_view kFile = "tokenizer_config.json";

// A special token written as "text" or as an AddedToken dict {"content": "text", ...}.
Result<std::optional<std::string>> TokenString(const nlohmann::ordered_json& j,
                                               std::string_view key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return std::optional<std::string>(c->get<std::string>());
  }
  return tok::BadField(tok::Child(kFile, key), "expected a string or {\"content\": string}");
}

Result<std::optional<bool>> OptionalBool(const nlohmann::ordered_json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return tok::BadField(tok::Child(kFile, key), "expected a boolean");
  return std::optional<bool>(it->get<bool>());
}

}  // namespace

Result<TokenizerConfig> TokenizerConfig::FromJson(const std::string& text) {
  TokenizerConfig c;
  if (text.empty()) return c;
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DataLoss("{}: not valid JSON", kFile);
  if (!j.is_object()) return DataLoss("{}: expected a JSON object at the top level", kFile);
  LOOM_ASSIGN_OR_RETURN(c.bos_token, TokenString(j, "bos_token"));
  LOOM_ASSIGN_OR_RETURN(c.eos_token, TokenString(j, "eos_token"));
  LOOM_ASSIGN_OR_RETURN(c.unk_token, TokenString(j, "unk_token"));
  LOOM_ASSIGN_OR_RETURN(c.pad_token, TokenString(j, "pad_token"));
  LOOM_ASSIGN_OR_RETURN(c.cls_token, TokenString(j, "cls_token"));
  LOOM_ASSIGN_OR_RETURN(c.sep_token, TokenString(j, "sep_token"));
  LOOM_ASSIGN_OR_RETURN(c.mask_token, TokenString(j, "mask_token"));
  if (auto it = j.find("additional_special_tokens"); it != j.end() && !it->is_null()) {
    if (!it->is_array())
      return tok::BadField(tok::Child(kFile, "additional_special_tokens"), "expected a list");
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& e = (*it)[i];
      if (e.is_string()) {
        c.additional_special_tokens.push_back(e.get<std::string>());
      } else if (e.is_object() && e.contains("content") && e["content"].is_string()) {
        c.additional_special_tokens.push_back(e["content"].get<std::string>());
      } else {
        return tok::BadField(tok::Index(tok::Child(kFile, "additional_special_tokens"), i),
                             "expected a string or {\"content\": string}");
      }
    }
  }
  LOOM_ASSIGN_OR_RETURN(c.add_bos_token, OptionalBool(j, "add_bos_token"));
  LOOM_ASSIGN_OR_RETURN(c.add_eos_token, OptionalBool(j, "add_eos_token"));
  LOOM_ASSIGN_OR_RETURN(auto cleanup, OptionalBool(j, "clean_up_tokenization_spaces"));
  c.clean_up_tokenization_spaces = cleanup.value_or(false);
  if (auto it = j.find("tokenizer_class"); it != j.end() && it->is_string())
    c.tokenizer_class = it->get<std::string>();
  if (auto it = j.find("model_max_length"); it != j.end()) {
    if (it->is_number_integer()) {
      c.model_max_length = it->get<int64_t>();
    } else if (it->is_number_float() && it->get<double>() < 9e18) {
      c.model_max_length = static_cast<int64_t>(it->get<double>());
    }
  }
  if (auto it = j.find("chat_template"); it != j.end()) {
    if (!it->is_null() && !it->is_string() && !it->is_array()) {
      return tok::BadField(tok::Child(kFile, "chat_template"),
                           "expected a string or a list of {name, template}");
    }
    if (it->is_array()) {
      for (size_t i = 0; i < it->size(); ++i) {
        const auto& e = (*it)[i];
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
            !e.contains("template") || !e["template"].is_string()) {
          return tok::BadField(tok::Index(tok::Child(kFile, "chat_template"), i),
                               "expected {\"name\": ..., \"template\": ...}");
        }
      }
    }
    c.chat_template = *it;
  }
  c.raw = std::move(j);
  return c;
}

std::optional<std::string> TokenizerConfig::ChatTemplate(std::string_view name) const {
  if (chat_template.is_string()) {
    if (name == "default") return chat_template.get<std::string>();
    return std::nullopt;
  }
  if (chat_template.is_array()) {
    for (const auto& e : chat_template) {
      if (e.at("name").get<std::string>() == name) return e.at("template").get<std::string>();
    }
  }
  return std::nullopt;
}

}  // namespace loom
