#include "serviceuser/schedule.h"

#include <gtest/gtest.h>

#include "serviceuser/naming.h"

namespace su::serviceuser {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

TEST(Schedule, EndDateCoversTheWholeLifetime) {
  TimePoint issued = *parseRfc3339("2026-01-10T18:30:00Z");
  Date end = endDateFor(issued, hours(48), std::nullopt);
  EXPECT_EQ(formatDate(end), "2026-01-12");
  EXPECT_GE(endOfDay(end), issued + hours(48));
}

TEST(Schedule, EndDateNeverPassesTheHardEndDate) {
  TimePoint issued = *parseRfc3339("2026-01-10T00:00:00Z");
  EXPECT_EQ(formatDate(endDateFor(issued, hours(2160), Date{2026, 2, 1})), "2026-02-01");
}

TEST(Schedule, RotationIsDueRenewBeforeTheEndOfTheEndDateMinusABoundedJitter) {
  Date end{2026, 3, 1};
  for (std::string uid : {"a", "b", "c", "0f6e-uid", "another"}) {
    TimePoint due = rotationDue(end, hours(360), uid);
    TimePoint latest = endOfDay(end) - hours(360);
    EXPECT_LE(due, latest) << uid;
    EXPECT_GE(due, latest - hours(1)) << uid;
    EXPECT_EQ(due, floorSeconds(due)) << "due times are whole seconds";
  }
}

TEST(Schedule, JitterSpreadsRotationsOfDifferentServiceUsers) {
  Date end{2026, 3, 1};
  EXPECT_NE(rotationDue(end, hours(360), "uid-1"), rotationDue(end, hours(360), "uid-2"));
  EXPECT_EQ(rotationDue(end, hours(360), "uid-1"), rotationDue(end, hours(360), "uid-1"));
}

TEST(Schedule, ReachedToleratesSubSecondTruncation) {
  TimePoint when = *parseRfc3339("2026-03-01T00:00:00Z");
  EXPECT_TRUE(reached(when - std::chrono::milliseconds(400), when));
  EXPECT_FALSE(reached(when - seconds(2), when));
}

TEST(Naming, FriendlyNameCarriesTheRevisionAndReadsBack) {
  ServiceUser su;
  su.meta.namespace_name = "ci.prod";
  su.meta.name = "signer.v2";
  std::string base = friendlyNameBase(su);
  EXPECT_EQ(base, "ci-prod-signer-v2");
  EXPECT_EQ(friendlyNameFor(base, 12), "ci-prod-signer-v2-r12");
  EXPECT_EQ(revisionOf(base, "ci-prod-signer-v2-r12"), 12);
  EXPECT_EQ(revisionOf(base, "ci-prod-signer-v2-r12x"), 0);
  EXPECT_EQ(revisionOf(base, "other-r3"), 0);
}

TEST(Naming, ExplicitFriendlyNameWinsAndLongNamesAreCut) {
  ServiceUser su;
  su.meta.namespace_name = std::string(80, 'n');
  su.meta.name = "x";
  EXPECT_EQ(friendlyNameBase(su).size(), 64u);
  su.spec.friendly_name = "Build signer";
  EXPECT_EQ(friendlyNameBase(su), "Build signer");
}

}  // namespace
}  // namespace su::serviceuser
