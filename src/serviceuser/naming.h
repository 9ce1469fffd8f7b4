#pragma once

#include <cstdint>
#include <string>

#include "serviceuser/api_types.h"

namespace su::serviceuser {

// Friendly names hold letters, digits, spaces, dashes and underscores. Every identity of a
// ServiceUser is named "<readable>-<uid digest>-r<revision>", at most 64 characters: the name is
// known before the remote create and belongs to this ServiceUser alone, so it is the idempotency
// key that resolves a create whose answer was lost.
std::string friendlyNameBase(const ServiceUser& su);
std::string friendlyNameFor(const std::string& base, int64_t revision);
// The revision a friendly name of this base carries; 0 when it is not one of ours.
int64_t revisionOf(const std::string& base, const std::string& friendly_name);
// Whether `friendly_name` is this ServiceUser's name for `revision`, whatever its readable part
// (which follows spec.friendlyName, and so may have been set or removed since).
bool namesRevisionOf(const ServiceUser& su, const std::string& friendly_name, int64_t revision);

}  // namespace su::serviceuser
