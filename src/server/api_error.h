// OpenAI's error body: {"error": {"message", "type", "param", "code"}} with its HTTP status.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace loom::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "BadRequestError";
  std::string param;

  nlohmann::json Body() const {
    return {{"error",
             {{"message", message},
              {"type", type},
              {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
              {"code", status}}}};
  }
  // A Status from the layers below: the request's fault unless it is Internal.
  static ApiError From(const Status& s) {
    if (s.code() == StatusCode::kInternal) return {500, s.message(), "InternalServerError", ""};
    if (s.code() == StatusCode::kNotFound) return {404, s.message(), "NotFoundError", ""};
    if (s.code() == StatusCode::kUnavailable)
      return {503, s.message(), "ServiceUnavailableError", ""};
    return {400, s.message(), "BadRequestError", ""};
  }
};

}  // namespace loom::server
