#include "kube/watch_event.h"

#include "common/json.h"

namespace su::kube {
namespace {

Error malformed(std::string what) {
  return makeError(ErrorKind::kInternal, "malformed watch event: " + std::move(what));
}

std::optional<WatchEventType> typeFromName(const std::string& name) {
  if (name == "ADDED") return WatchEventType::kAdded;
  if (name == "MODIFIED") return WatchEventType::kModified;
  if (name == "DELETED") return WatchEventType::kDeleted;
  if (name == "BOOKMARK") return WatchEventType::kBookmark;
  if (name == "ERROR") return WatchEventType::kError;
  return std::nullopt;
}

// Objects must carry what the cache keys them by; bookmarks only a resourceVersion.
Status checkObject(WatchEventType type, const json::Json& object) {
  if (type == WatchEventType::kError) return Status::success();
  const json::Json* meta = json::find(object, "metadata");
  if (meta == nullptr || !meta->is_object()) return malformed("object has no metadata");
  if (!json::getString(*meta, "resourceVersion")) {
    return malformed("object has no metadata.resourceVersion");
  }
  if (type == WatchEventType::kBookmark) return Status::success();
  auto name = json::getString(*meta, "name");
  if (!name || name->empty()) return malformed("object has no metadata.name");
  if (const json::Json* ns = json::find(*meta, "namespace"); ns != nullptr && !ns->is_string()) {
    return malformed("metadata.namespace is not a string");
  }
  return Status::success();
}

}  // namespace

std::string WatchEvent::resourceVersion() const {
  return json::stringAt(object, {"metadata", "resourceVersion"});
}

const char* watchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> parseWatchLine(std::string_view line) {
  auto parsed = json::parse(line, "a watch event");
  if (!parsed) return parsed.error();
  json::Json& root = parsed.value();
  if (!root.is_object()) return malformed("not a JSON object");

  auto type_name = json::getString(root, "type");
  if (!type_name) return malformed("no type");
  auto type = typeFromName(*type_name);
  if (!type) return malformed("unknown type");

  auto it = root.find("object");
  if (it == root.end() || !it->is_object()) return malformed("no object");
  if (Status s = checkObject(*type, *it); !s) return s.error();

  WatchEvent event;
  event.type = *type;
  event.object = std::move(*it);
  return event;
}

int watchErrorCode(const WatchEvent& event) {
  if (event.type != WatchEventType::kError) return 0;
  auto code = json::getInt(event.object, "code");
  return code && *code > 0 && *code < 1000 ? static_cast<int>(*code) : 0;
}

}  // namespace su::kube
