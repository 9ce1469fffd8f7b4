#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/time_format.h"

namespace su::log {
namespace {

struct State {
  std::mutex mu;
  std::shared_ptr<spdlog::logger> logger;
  Format format = Format::kJson;
  std::string component = "serviceuser-operator";
};

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

State& state() {
  static State* s = new State();  // never destroyed: logging stays valid during exit
  return *s;
}

const char* levelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

// Called with the state's mutex held.
void ensureLogger(State& s) {
  if (s.logger) return;
  s.logger =
      std::make_shared<spdlog::logger>("su", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  s.logger->set_pattern("%v");
  s.logger->set_level(spdlog::level::trace);
  s.logger->flush_on(spdlog::level::trace);
}

std::string timestampNow() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::string ts = formatRfc3339(now);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms.count()));
  ts.insert(ts.size() - 1, frac);
  return ts;
}

std::string renderJson(Level level, std::string_view component, std::string_view message,
                       Fields fields) {
  nlohmann::ordered_json line;
  line["ts"] = timestampNow();
  line["level"] = levelName(level);
  line["logger"] = component;
  line["msg"] = message;
  for (const Field& f : fields) {
    std::string key(f.key);
    if (f.number) {
      line[key] = nlohmann::ordered_json::parse(f.value, nullptr, false);
    } else {
      line[key] = f.value;
    }
  }
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string renderText(Level level, std::string_view message, Fields fields) {
  std::string out = timestampNow() + " " + levelName(level) + " " + std::string(message);
  for (const Field& f : fields) {
    out += " " + std::string(f.key) + "=";
    bool quote = f.value.find_first_of(" \"=\n") != std::string::npos || f.value.empty();
    out += quote ? nlohmann::json(f.value).dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace)
                 : f.value;
  }
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

std::string render(Format format, Level level, std::string_view component, std::string_view message,
                   Fields fields) {
  return format == Format::kJson ? renderJson(level, component, message, fields)
                                 : renderText(level, message, fields);
}

void init(Level level, Format format, std::string_view component) {
  State& s = state();
  std::lock_guard lock(s.mu);
  ensureLogger(s);
  s.format = format;
  s.component = std::string(component);
  g_level.store(static_cast<int>(level));
}

std::optional<Level> parseLevel(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn" || text == "warning") return Level::kWarn;
  if (text == "error") return Level::kError;
  return std::nullopt;
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void write(Level level, std::string_view message, Fields fields) {
  State& s = state();
  std::shared_ptr<spdlog::logger> logger;
  Format format;
  std::string component;
  {
    std::lock_guard lock(s.mu);
    ensureLogger(s);
    logger = s.logger;
    format = s.format;
    component = s.component;
  }
  logger->log(spdlog::level::info, render(format, level, component, message, fields));
}

void shutdown() {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.logger) s.logger->flush();
}

}  // namespace su::log
