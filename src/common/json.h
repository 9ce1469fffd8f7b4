#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace su::json {

using Json = nlohmann::json;

// Parses text without letting the parser's message (which quotes the input, and so possibly a
// credential) into the error: only the byte position is kept.
Result<Json> parse(std::string_view text, std::string_view what);

// Serialises with invalid UTF-8 replaced instead of throwing.
std::string dump(const Json& value);

// Non-throwing readers: nullopt when the key is absent, null or of another type.
const Json* find(const Json& object, std::string_view key);
std::optional<std::string> getString(const Json& object, std::string_view key);
std::optional<int64_t> getInt(const Json& object, std::string_view key);
std::optional<bool> getBool(const Json& object, std::string_view key);
// Follows a path of object keys ("metadata", "name").
const Json* at(const Json& object, std::initializer_list<std::string_view> path);
std::string stringAt(const Json& object, std::initializer_list<std::string_view> path);

}  // namespace su::json
