#include "serviceuser/schedule.h"

#include <algorithm>

namespace su::serviceuser {

Date endDateFor(TimePoint issued, std::chrono::seconds duration, std::optional<Date> not_after) {
  Date end = dateOf(issued + duration);
  if (not_after && *not_after < end) end = *not_after;
  return end;
}

TimePoint rotationDue(Date end, std::chrono::seconds renew_before, const std::string& uid) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over the UID
  for (char c : uid) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  auto max_jitter = std::min<std::chrono::seconds>(renew_before / 10, std::chrono::hours(1));
  auto jitter = max_jitter.count() > 0
                    ? std::chrono::seconds(static_cast<int64_t>(hash % max_jitter.count()))
                    : std::chrono::seconds(0);
  return floorSeconds(endOfDay(end) - renew_before - jitter);
}

bool renewalAllowed(const Spec& spec, std::optional<Date> current_end) {
  if (!spec.not_after) return true;
  if (!current_end) return true;
  return *current_end < *spec.not_after;
}

std::optional<TimePoint> nextRotation(const ServiceUser& su, const IdentityRecord& current) {
  auto end = parseDate(current.end_date);
  if (!end || !renewalAllowed(su.spec, end)) return std::nullopt;
  TimePoint due = rotationDue(*end, su.spec.renewBefore(), su.meta.uid);
  if (auto issued = parseRfc3339(current.issued_at)) {
    auto gap = std::min<std::chrono::seconds>(std::chrono::hours(1),
                                              (su.spec.duration - su.spec.renewBefore()) / 2);
    due = std::max(due, floorSeconds(*issued + gap));
  }
  return due;
}

bool reached(TimePoint now, TimePoint when) { return now + std::chrono::seconds(1) > when; }

}  // namespace su::serviceuser
