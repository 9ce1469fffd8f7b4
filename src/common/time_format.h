#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace su {

// A calendar day in UTC, as DigiCert ONE end dates are given.
struct Date {
  int year = 1970;
  unsigned month = 1;
  unsigned day = 1;

  auto operator<=>(const Date&) const = default;
};

// "2026-01-12T03:04:05Z" with whole seconds; Kubernetes' metav1.Time format.
std::string formatRfc3339(TimePoint t);
// Accepts "Z" or a numeric offset and an optional fraction; nullopt when malformed.
std::optional<TimePoint> parseRfc3339(std::string_view text);

std::string formatDate(Date d);                        // "2026-01-12"
std::optional<Date> parseDate(std::string_view text);  // strict YYYY-MM-DD, a real day
Date dateOf(TimePoint t);                              // the UTC day t falls on
TimePoint startOfDay(Date d);                          // 00:00:00 UTC
// The last instant an identity with this end date still works: 23:59:59 UTC that day.
TimePoint endOfDay(Date d);

// Go-style durations as Kubernetes users write them: "720h", "90m", "1h30m", "45s".
std::optional<std::chrono::seconds> parseDuration(std::string_view text);
std::string formatDuration(std::chrono::seconds d);

// Truncation to whole seconds, the resolution status timestamps keep.
TimePoint floorSeconds(TimePoint t);

}  // namespace su
