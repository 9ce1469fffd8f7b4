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

ServiceUser named(const std::string& ns, const std::string& name, const std::string& uid) {
  ServiceUser su;
  su.meta.namespace_name = ns;
  su.meta.name = name;
  su.meta.uid = uid;
  return su;
}

TEST(Naming, FriendlyNameCarriesTheRevisionAndReadsBack) {
  std::string base = friendlyNameBase(named("ci.prod", "signer.v2", "uid-1"));
  EXPECT_EQ(base.rfind("ci-prod-signer-v2-", 0), 0u);
  EXPECT_EQ(base.size(), std::string("ci-prod-signer-v2-").size() + 8);
  EXPECT_EQ(friendlyNameFor(base, 12), base + "-r12");
  EXPECT_EQ(revisionOf(base, base + "-r12"), 12);
  EXPECT_EQ(revisionOf(base, base + "-r12x"), 0);
  EXPECT_EQ(revisionOf(base, "other-r3"), 0);
}

TEST(Naming, ServiceUsersThatReadAlikeNeverShareAName) {
  EXPECT_NE(friendlyNameBase(named("a-b", "c", "uid-1")),
            friendlyNameBase(named("a", "b-c", "uid-2")));
  EXPECT_NE(friendlyNameBase(named("t", "x.y", "uid-1")),
            friendlyNameBase(named("t", "x-y", "uid-2")));
  ServiceUser one = named("t", "one", "uid-1"), two = named("u", "two", "uid-2");
  one.spec.friendly_name = two.spec.friendly_name = "ci signer";
  EXPECT_NE(friendlyNameBase(one), friendlyNameBase(two));
  EXPECT_EQ(friendlyNameBase(one).rfind("ci signer-", 0), 0u);
}

TEST(Naming, TheLongestNamesStayWithin64Characters) {
  ServiceUser su = named(std::string(63, 'n'), std::string(253, 'x'), "uid");
  EXPECT_LE(friendlyNameFor(friendlyNameBase(su), 9999999999).size(), 64u);
  su.spec.friendly_name = std::string(40, 'f');
  EXPECT_LE(friendlyNameFor(friendlyNameBase(su), 9999999999).size(), 64u);
}

}  // namespace
}  // namespace su::serviceuser
