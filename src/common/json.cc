#include "common/json.h"

namespace su::json {

Result<Json> parse(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return makeError(ErrorKind::kInternal, "malformed JSON in " + std::string(what) + " at byte " +
                                               std::to_string(e.byte));
  } catch (const std::exception&) {
    return makeError(ErrorKind::kInternal, "unreadable JSON in " + std::string(what));
  }
}

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json* find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> getString(const Json& object, std::string_view key) {
  const Json* v = find(object, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::optional<int64_t> getInt(const Json& object, std::string_view key) {
  const Json* v = find(object, key);
  if (v == nullptr || !v->is_number_integer()) return std::nullopt;
  return v->get<int64_t>();
}

std::optional<bool> getBool(const Json& object, std::string_view key) {
  const Json* v = find(object, key);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

const Json* at(const Json& object, std::initializer_list<std::string_view> path) {
  const Json* cur = &object;
  for (std::string_view key : path) {
    cur = find(*cur, key);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

std::string stringAt(const Json& object, std::initializer_list<std::string_view> path) {
  const Json* v = at(object, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

}  // namespace su::json
