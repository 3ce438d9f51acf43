// Typed access to tokenizer.json / tokenizer_config.json fields that reports a precise location
// instead of throwing. Locations read like "tokenizer.json:
// pre_tokenizer.pretokenizers[1].pattern".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loom::tok {

using Json = nlohmann::json;

// "tokenizer.json" + "model" -> "tokenizer.json: model"; "tokenizer.json: model" + "vocab" -> "...:
// model.vocab".
std::string Child(std::string_view where, std::string_view key);
std::string Index(std::string_view where, size_t i);

// A malformed field: kDataLoss with the location.
Status BadField(std::string_view where, std::string_view what);
// A well-formed but unsupported component (e.g. an unknown pre-tokenizer type): kUnimplemented.
Status Unsupported(std::string_view where, std::string_view what);

// Object member lookups. A missing member (or JSON null) yields `fallback` when one is given, else
// an error.
Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view where,
                              std::optional<std::string> fallback = std::nullopt);
Result<bool> GetBool(const Json& obj, std::string_view key, std::string_view where,
                     std::optional<bool> fallback = std::nullopt);
Result<int64_t> GetInt(const Json& obj, std::string_view key, std::string_view where,
                       std::optional<int64_t> fallback = std::nullopt);
// The member itself; error when missing or not of the requested kind.
Result<const Json*> GetObject(const Json& obj, std::string_view key, std::string_view where);
Result<const Json*> GetArray(const Json& obj, std::string_view key, std::string_view where);
// Member or nullptr when missing/null.
const Json* Find(const Json& obj, std::string_view key);

// The "type" member of a component object.
Result<std::string> GetType(const Json& obj, std::string_view where);

}  // namespace loom::tok
