#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/time_format.h"
#include "serviceuser/api_types.h"

namespace su::serviceuser {

// The end date of an identity issued at `issued`: the day its lifetime ends (it works until
// 23:59:59 UTC of that day, so it never lives shorter than asked), and never past the hard end.
Date endDateFor(TimePoint issued, std::chrono::seconds duration, std::optional<Date> not_after);

// When the successor of an identity ending on `end` is due: the end of that day minus
// renewBefore, minus a jitter of up to a tenth of renewBefore (at most an hour) derived from the
// ServiceUser's UID so that many identities made together do not all rotate in the same second.
// Whole seconds, so a value read back from status compares equal.
TimePoint rotationDue(Date end, std::chrono::seconds renew_before, const std::string& uid);

// Whether another identity may still be made: false once the hard end date has been reached by
// the current identity's end date.
bool renewalAllowed(const Spec& spec, std::optional<Date> current_end);

// When the successor of `current` is due, or nullopt when none will be made (hard end date).
// Never sooner than an hour after issue (or half the time the spec leaves between issue and
// rotation, when shorter), so a deadline in the past rotates once instead of again and again: an
// identity issued just before midnight can share its predecessor's end date.
std::optional<TimePoint> nextRotation(const ServiceUser& su, const IdentityRecord& current);

// Comparison with a tolerance of one second, for times that went through status (whole seconds).
bool reached(TimePoint now, TimePoint when);

}  // namespace su::serviceuser
