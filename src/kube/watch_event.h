// One line of a Kubernetes watch stream, decoded:
//
//   auto event = su::kube::parseWatchLine(line);
//   if (event && event->type == su::kube::WatchEventType::kError) ... event->object is a Status
//
// A pure function, fuzzed by tests/kube/watch_event_fuzz_test.cc: any input gives a value or an
// Error whose message never quotes the input.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace su::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  nlohmann::json object;  // the object, or a Status for kError

  std::string resourceVersion() const;
};

const char* watchEventTypeName(WatchEventType type);

Result<WatchEvent> parseWatchLine(std::string_view line);

// The HTTP-like code of an ERROR event's Status (410 for an expired resourceVersion), 0 if none.
int watchErrorCode(const WatchEvent& event);

}  // namespace su::kube
