#include "common/result.h"

namespace su {

const char* errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTransient:
      return "transient";
    case ErrorKind::kUnknownOutcome:
      return "unknown_outcome";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kUnauthorized:
      return "unauthorized";
    case ErrorKind::kForbidden:
      return "forbidden";
    case ErrorKind::kInvalid:
      return "invalid";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::describe() const {
  std::string out = std::string(errorKindName(kind)) + ": " + message;
  if (http_status != 0 || !code.empty()) {
    out += " (";
    if (http_status != 0) out += "http " + std::to_string(http_status);
    if (http_status != 0 && !code.empty()) out += ", ";
    if (!code.empty()) out += "code " + code;
    out += ")";
  }
  return out;
}

Error makeError(ErrorKind kind, std::string message, int http_status, std::string code) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  e.http_status = http_status;
  e.code = std::move(code);
  return e;
}

}  // namespace su
