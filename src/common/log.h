#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace su::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kJson, kText };

// One key/value of a log line. Keys are fixed names (controller, reconcile_id, namespace, name,
// revision, error, ...); values are never credentials.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, int64_t v) : key(k), value(std::to_string(v)), number(true) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)), number(true) {}
  Field(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)), number(true) {}
  Field(std::string_view k, double v) : key(k), value(std::to_string(v)), number(true) {}

  std::string_view key;
  std::string value;
  bool number = false;
};
using Fields = std::initializer_list<Field>;

// Sets up the process logger: one line per record on stderr, JSON by default. Safe to call
// again (tests do); `component` becomes the "logger" key.
void init(Level level, Format format, std::string_view component);
std::optional<Level> parseLevel(std::string_view text);

bool enabled(Level level);
void write(Level level, std::string_view message, Fields fields);

// Renders one record; exposed for tests of escaping.
std::string render(Format format, Level level, std::string_view component, std::string_view message,
                   Fields fields);

inline void debug(std::string_view m, Fields f = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, m, f);
}
inline void info(std::string_view m, Fields f = {}) {
  if (enabled(Level::kInfo)) write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, Fields f = {}) {
  if (enabled(Level::kWarn)) write(Level::kWarn, m, f);
}
inline void error(std::string_view m, Fields f = {}) {
  if (enabled(Level::kError)) write(Level::kError, m, f);
}

// Waits for everything written so far to reach the sink; call before exit.
void shutdown();

}  // namespace su::log
