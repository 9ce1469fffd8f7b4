#include "serviceuser/status_update.h"

#include <gtest/gtest.h>

namespace su::serviceuser {
namespace {

const TimePoint kNow = *parseRfc3339("2026-06-01T12:00:00Z");

ServiceUser user() {
  ServiceUser su;
  su.meta.generation = 3;
  su.meta.uid = "uid";
  su.spec.retire_grace = std::chrono::hours(24);
  su.spec.secret_name = "tok";
  return su;
}

digicert::ServiceUser created(const std::string& id, const std::string& name) {
  digicert::ServiceUser u;
  u.id = id;
  u.friendly_name = name;
  u.end_date = Date{2026, 8, 30};
  return u;
}

TEST(StatusUpdate, CreatedIdentityBecomesCurrentAndTheOldOneAPredecessorWithGrace) {
  ServiceUser su = user();
  su.status.current = IdentityRecord{"old", "n-r1", 1, "2026-07-01", "", "", ""};
  su.status.pending = PendingRecord{"Create", 2, "n-r2", "Scheduled", ""};
  ServiceUserStatus s = withCreated(su.status, su, created("new", "n-r2"), kNow, "");
  EXPECT_FALSE(s.pending.has_value());
  EXPECT_EQ(s.current->id, "new");
  EXPECT_EQ(s.current->revision, 2);
  EXPECT_EQ(s.revision, 2);
  EXPECT_EQ(s.current->end_date, "2026-08-30");
  ASSERT_TRUE(s.predecessor.has_value());
  EXPECT_EQ(s.predecessor->id, "old");
  EXPECT_EQ(s.predecessor->retire_after, "2026-06-02T12:00:00Z");
}

TEST(StatusUpdate, AnIdentityLostRemotelyIsRetiredWithoutGrace) {
  ServiceUser su = user();
  su.status.current = IdentityRecord{"old", "n-r1", 1, "2026-07-01", "", "", ""};
  su.status.pending = PendingRecord{"Create", 2, "n-r2", "IdentityLost", ""};
  ServiceUserStatus s = withCreated(su.status, su, created("new", "n-r2"), kNow, "");
  EXPECT_EQ(s.predecessor->retire_after, formatRfc3339(kNow));
}

TEST(StatusUpdate, TransitionTimeChangesOnlyWhenTheConditionFlips) {
  ServiceUserStatus s;
  setCondition(s, "Ready", true, "Issued", "ok", 1, kNow);
  setCondition(s, "Ready", true, "Issued", "still ok", 2, kNow + std::chrono::hours(1));
  ASSERT_EQ(s.conditions.size(), 1u);
  EXPECT_EQ(s.conditions[0].last_transition_time, formatRfc3339(kNow));
  EXPECT_EQ(s.conditions[0].observed_generation, 2);
  setCondition(s, "Ready", false, "Pending", "no", 2, kNow + std::chrono::hours(2));
  EXPECT_EQ(s.conditions[0].last_transition_time, formatRfc3339(kNow + std::chrono::hours(2)));
}

TEST(StatusUpdate, ConditionsTellTheTruthForTheCurrentGeneration) {
  ServiceUser su = user();
  ServiceUserStatus s;
  setConditions(s, su, {}, kNow);
  EXPECT_EQ(s.condition("Ready")->status, "False");
  EXPECT_EQ(s.condition("Ready")->reason, "Pending");
  EXPECT_EQ(s.observed_generation, 3);

  s.current = IdentityRecord{"id", "n-r1", 1, "2026-08-30", "", "", ""};
  setConditions(s, su, {}, kNow);
  EXPECT_EQ(s.condition("Ready")->status, "True");
  EXPECT_EQ(s.condition("Degraded")->status, "False");
  EXPECT_FALSE(s.next_rotation.empty());

  setConditions(s, su, {"SecretConflict", "Secret tok exists", ""}, kNow);
  EXPECT_EQ(s.condition("Ready")->status, "False");
  EXPECT_EQ(s.condition("Degraded")->reason, "SecretConflict");
}

TEST(StatusUpdate, StatusSurvivesTheRoundTripThroughJson) {
  ServiceUserStatus s;
  s.observed_generation = 4;
  s.revision = 2;
  s.current = IdentityRecord{"id", "n-r2", 2, "2026-08-30", "2026-06-01T00:00:00Z", "", "abc"};
  s.predecessor = PredecessorRecord{"id0", "n-r1", 1, "2026-06-02T00:00:00Z"};
  s.pending = PendingRecord{"Create", 3, "n-r3", "Requested", "2026-06-01T00:00:00Z"};
  s.last_rotate_request = "x";
  s.stranded = {{"id9", "n-r9", "unreachable"}};
  setCondition(s, "Ready", true, "Issued", "ok", 4, kNow);
  EXPECT_EQ(parseStatus(statusToJson(s)), s);
}

TEST(StatusUpdate, StrandedListHasNoDuplicates) {
  ServiceUserStatus s = withStranded({}, {"a", "n-r1", "x"});
  s = withStranded(s, {"a", "n-r1", "x"});
  EXPECT_EQ(s.stranded.size(), 1u);
}

}  // namespace
}  // namespace su::serviceuser
