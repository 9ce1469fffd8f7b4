#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace su {

// What a caller should do about a failure. Exceptions from libraries are caught at the module
// edge that calls them and turned into one of these.
enum class ErrorKind {
  kTransient,       // retry with backoff: network, 5xx, 429, timeouts
  kUnknownOutcome,  // a write was sent and its answer was lost: look the result up, never resend
  kNotFound,
  kConflict,      // a precondition failed or the name exists already
  kUnauthorized,  // credentials refused
  kForbidden,
  kInvalid,   // the request or its input is wrong: the user must change something
  kInternal,  // a broken invariant or an answer that cannot be understood
};

const char* errorKindName(ErrorKind kind);

// An error as a value. `message` is safe to log: code that builds an Error never puts credential
// material into it.
struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  int http_status = 0;  // 0 when no HTTP answer was received
  std::string code;     // the remote side's machine-readable reason, when it gave one
  std::optional<std::chrono::milliseconds> retry_after;

  bool retryable() const { return kind == ErrorKind::kTransient; }
  // One line for logs: "kind: message (http 409, code duplicate_error)".
  std::string describe() const;
};

Error makeError(ErrorKind kind, std::string message, int http_status = 0, std::string code = {});

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : data_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<Error>(data_); }
  Error&& error() && { return std::get<Error>(std::move(data_)); }

 private:
  std::variant<T, Error> data_;
};

// The outcome of an operation that returns nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  static Status success() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace su
