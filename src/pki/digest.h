#pragma once

#include <string>
#include <string_view>

namespace su::pki {

// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256Hex(std::string_view data);

}  // namespace su::pki
