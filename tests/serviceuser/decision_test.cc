// The reconcile rule as a table: each row is a situation and the one step it must lead to.
#include "serviceuser/decision.h"

#include <gtest/gtest.h>

#include <functional>

#include "serviceuser/naming.h"
#include "serviceuser/schedule.h"

namespace su::serviceuser {
namespace {

using std::chrono::hours;

const TimePoint kNow = *parseRfc3339("2026-06-01T12:00:00Z");

ServiceUser baseUser() {
  ServiceUser su;
  su.meta = {"team", "signer", "uid-1", "10", 1, false, std::nullopt, {kFinalizer}, {}, {}};
  su.spec.issuer_ref = {"digicert", "DigiCertIssuer"};
  su.spec.email = "a@example.com";
  su.spec.accounts = {"acct"};
  su.spec.access = {{"Software Trust", {"signer"}}};
  su.spec.secret_name = "signer-token";
  return su;
}

// A converged ServiceUser: r1 current, its token in the Secret, ending 2026-08-30.
ServiceUser converged() {
  ServiceUser su = baseUser();
  su.status.revision = 1;
  su.status.current =
      IdentityRecord{"id-1", "team-signer-r1",        1, "2026-08-30", "2026-06-01T00:00:00Z",
                     "",     su.spec.identityDigest()};
  return su;
}

SecretView ownedSecret(int64_t revision, const std::string& id) {
  return SecretView{true, true, revision, id, true, false, true};
}

digicert::ServiceUser remote(const std::string& id, const std::string& name) {
  digicert::ServiceUser u;
  u.id = id;
  u.friendly_name = name;
  u.status = digicert::UserStatus::kActive;
  return u;
}

struct Row {
  std::string situation;
  std::function<void(ServiceUser&, Observation&)> arrange;
  StepKind expected;
};

class DecisionTable : public ::testing::TestWithParam<Row> {};

TEST_P(DecisionTable, ChoosesTheOneNextStep) {
  const Row& row = GetParam();
  ServiceUser su = converged();
  Observation o;
  o.now = kNow;
  o.secret = ownedSecret(1, "id-1");
  row.arrange(su, o);
  o.su = &su;
  Step step = decide(o);
  EXPECT_EQ(stepName(step.kind), std::string(stepName(row.expected))) << row.situation;
}

const Row kRows[] = {
    {"a converged ServiceUser waits", [](ServiceUser&, Observation&) {}, StepKind::kWait},
    {"a ServiceUser without the finalizer gets it before any remote call",
     [](ServiceUser& su, Observation&) { su.meta.finalizers.clear(); }, StepKind::kAddFinalizer},
    {"a ServiceUser being deleted is finalized",
     [](ServiceUser& su, Observation&) { su.meta.deleting = true; }, StepKind::kFinalize},
    {"an unusable issuer is reported and nothing else happens",
     [](ServiceUser&, Observation& o) { o.issuer_problem = "no such issuer"; }, StepKind::kReport},
    {"a Secret owned by someone else is reported and never written",
     [](ServiceUser&, Observation& o) { o.secret.owned = false; }, StepKind::kReport},
    {"a new ServiceUser journals its first revision",
     [](ServiceUser& su, Observation& o) {
       su.status = {};
       o.secret = {};
     },
     StepKind::kJournal},
    {"a journaled revision with nothing remote is created",
     [](ServiceUser& su, Observation& o) {
       su.status = {};
       su.status.pending = PendingRecord{"Create", 1, "team-signer-r1", "Initial", ""};
       o.secret = {};
       o.pending_lookup = std::optional<digicert::ServiceUser>();
     },
     StepKind::kCreate},
    {"a journaled revision whose token is already in the Secret is adopted",
     [](ServiceUser& su, Observation& o) {
       su.status = {};
       su.status.pending = PendingRecord{"Create", 1, "team-signer-r1", "Initial", ""};
       o.secret = ownedSecret(1, "id-9");
       o.pending_lookup = remote("id-9", "team-signer-r1");
     },
     StepKind::kAdopt},
    {"a journaled revision that exists without its token is retired",
     [](ServiceUser& su, Observation& o) {
       su.status = {};
       su.status.pending = PendingRecord{"Create", 1, "team-signer-r1", "Initial", ""};
       o.secret = {};
       o.pending_lookup = remote("id-9", "team-signer-r1");
     },
     StepKind::kRetireStranded},
    {"a Secret holding an older revision does not adopt the pending identity",
     [](ServiceUser& su, Observation& o) {
       su.status.pending = PendingRecord{"Create", 2, "team-signer-r2", "Requested", ""};
       o.pending_lookup = remote("id-2", "team-signer-r2");
     },
     StepKind::kRetireStranded},
    {"a deleted Secret starts a replacement", [](ServiceUser&, Observation& o) { o.secret = {}; },
     StepKind::kJournal},
    {"an emptied Secret starts a replacement",
     [](ServiceUser&, Observation& o) { o.secret.has_token = false; }, StepKind::kJournal},
    {"an identity disabled remotely starts a replacement",
     [](ServiceUser&, Observation& o) {
       o.current_remote_status = digicert::UserStatus::kDisabled;
     },
     StepKind::kJournal},
    {"an identity whose remote status is unknown is left alone",
     [](ServiceUser&, Observation& o) { o.current_remote_status = digicert::UserStatus::kUnknown; },
     StepKind::kWait},
    {"a new rotate request starts a rotation",
     [](ServiceUser& su, Observation&) { su.meta.annotations[kRotateAnnotation] = "now"; },
     StepKind::kJournal},
    {"a rotate request already handled does nothing",
     [](ServiceUser& su, Observation&) {
       su.meta.annotations[kRotateAnnotation] = "now";
       su.status.last_rotate_request = "now";
     },
     StepKind::kWait},
    {"a second replacement first retires the predecessor still in its grace period",
     [](ServiceUser& su, Observation&) {
       su.meta.annotations[kRotateAnnotation] = "again";
       su.status.predecessor =
           PredecessorRecord{"id-0", "team-signer-r0", 0, "2026-06-02T00:00:00Z"};
     },
     StepKind::kRetirePredecessor},
    {"a predecessor past its grace period is retired",
     [](ServiceUser& su, Observation&) {
       su.status.predecessor =
           PredecessorRecord{"id-0", "team-signer-r0", 0, "2026-06-01T11:59:59Z"};
     },
     StepKind::kRetirePredecessor},
    {"a predecessor within its grace period waits",
     [](ServiceUser& su, Observation&) {
       su.status.predecessor =
           PredecessorRecord{"id-0", "team-signer-r0", 0, "2026-06-01T13:00:00Z"};
     },
     StepKind::kWait},
    {"an identity inside its renew-before window is rotated",
     [](ServiceUser& su, Observation&) { su.status.current->end_date = "2026-06-20"; },
     StepKind::kJournal},
    {"no rotation past the hard end date",
     [](ServiceUser& su, Observation&) {
       su.status.current->end_date = "2026-06-20";
       su.spec.not_after = Date{2026, 6, 20};
     },
     StepKind::kWait},
    {"a changed description updates the identity in place",
     [](ServiceUser& su, Observation&) { su.spec.description = "new"; }, StepKind::kUpdateIdentity},
    {"a schedule edit alone changes nothing remote",
     [](ServiceUser& su, Observation&) { su.spec.renew_before = hours(48); }, StepKind::kWait},
    {"a template label edit only syncs the Secret's metadata",
     [](ServiceUser&, Observation& o) { o.secret.metadata_current = false; },
     StepKind::kSyncSecretMetadata},
    {"a wanted client certificate missing from the Secret is issued",
     [](ServiceUser& su, Observation&) { su.spec.client_certificate = KeyAlgorithm::kEcdsaP256; },
     StepKind::kIssueCertificate},
    {"a suspended ServiceUser makes no remote change",
     [](ServiceUser& su, Observation& o) {
       su.spec.suspend = true;
       o.secret = {};
     },
     StepKind::kWait},
    {"a suspended ServiceUser does not create its journaled revision",
     [](ServiceUser& su, Observation& o) {
       su.spec.suspend = true;
       su.status.pending = PendingRecord{"Create", 2, "team-signer-r2", "Requested", ""};
       o.pending_lookup = std::optional<digicert::ServiceUser>();
     },
     StepKind::kWait},
    {"a Secret restored with another identity's token starts a replacement",
     [](ServiceUser&, Observation& o) { o.secret.identity_id = "id-0"; }, StepKind::kJournal},
    {"after the hard end date a lost Secret is reported, not replaced",
     [](ServiceUser& su, Observation& o) {
       su.spec.not_after = Date{2026, 5, 31};
       o.secret = {};
     },
     StepKind::kReport},
    {"after the hard end date a lost identity is reported, not replaced",
     [](ServiceUser& su, Observation& o) {
       su.spec.not_after = Date{2026, 5, 31};
       o.current_remote_status = digicert::UserStatus::kExpired;
     },
     StepKind::kReport},
    {"an identity issued just before midnight is not rotated again at once",
     [](ServiceUser& su, Observation&) {
       su.spec.duration = hours(24);
       su.spec.renew_before = hours(22);
       su.status.current->issued_at = "2026-06-01T11:59:30Z";
       su.status.current->end_date = "2026-06-01";
     },
     StepKind::kWait},
    {"a hard end date already past is reported instead of creating",
     [](ServiceUser& su, Observation& o) {
       su.status = {};
       o.secret = {};
       su.spec.not_after = Date{2026, 5, 31};
     },
     StepKind::kReport},
    {"a hard end date that passed after the journal stops the create",
     [](ServiceUser& su, Observation& o) {
       su.status = {};
       su.status.pending = PendingRecord{"Create", 1, "team-signer-r1", "Initial", ""};
       o.secret = {};
       o.pending_lookup = std::optional<digicert::ServiceUser>();
       su.spec.not_after = Date{2026, 5, 31};
     },
     StepKind::kReport},
};

INSTANTIATE_TEST_SUITE_P(Situations, DecisionTable, ::testing::ValuesIn(kRows));

// The name journaled with the finalizer, here under a readable part spec.friendlyName no longer
// gives: the entry keeps the name the create used.
ServiceUser journaledWithFinalizer() {
  ServiceUser su = baseUser();
  ServiceUser earlier = su;
  earlier.spec.friendly_name = "before rename";
  su.meta.annotations[kFirstIdentityAnnotation] = friendlyNameFor(friendlyNameBase(earlier), 1);
  return su;
}

TEST(ImpliedJournal, TheFirstRevisionIsPendingUnderTheNameJournaledWithTheFinalizer) {
  ServiceUser su = journaledWithFinalizer();
  ASSERT_TRUE(implyFirstJournal(su, kNow));
  ASSERT_TRUE(su.status.pending.has_value());
  EXPECT_EQ(su.status.pending->revision, 1);
  EXPECT_EQ(su.status.pending->friendly_name, su.meta.annotations[kFirstIdentityAnnotation]);
  EXPECT_EQ(su.status.pending->friendly_name.rfind("before rename-", 0), 0u);
  EXPECT_EQ(su.status.pending->reason, "Initial");
}

TEST(ImpliedJournal, NothingIsImpliedBeforeTheFinalizerOrWithoutTheAnnotation) {
  ServiceUser no_finalizer = journaledWithFinalizer();
  no_finalizer.meta.finalizers.clear();
  ServiceUser no_annotation = baseUser();
  EXPECT_FALSE(implyFirstJournal(no_finalizer, kNow));
  EXPECT_FALSE(implyFirstJournal(no_annotation, kNow));
  EXPECT_FALSE(no_finalizer.status.pending.has_value());
  EXPECT_FALSE(no_annotation.status.pending.has_value());
}

TEST(ImpliedJournal, AnAnnotationNamingAnotherServiceUserOrRevisionIsIgnored) {
  ServiceUser other = baseUser();
  other.meta.uid = "uid-2";
  ServiceUser foreign = journaledWithFinalizer();
  foreign.meta.annotations[kFirstIdentityAnnotation] = friendlyNameFor(friendlyNameBase(other), 1);
  ServiceUser second = journaledWithFinalizer();
  second.meta.annotations[kFirstIdentityAnnotation] = friendlyNameFor(friendlyNameBase(second), 2);
  ServiceUser bad_chars = journaledWithFinalizer();
  bad_chars.meta.annotations[kFirstIdentityAnnotation] =
      "a/b" + friendlyNameFor(friendlyNameBase(bad_chars), 1).substr(3);
  EXPECT_FALSE(implyFirstJournal(foreign, kNow));
  EXPECT_FALSE(implyFirstJournal(second, kNow));
  EXPECT_FALSE(implyFirstJournal(bad_chars, kNow));
}

TEST(ImpliedJournal, NothingIsImpliedOnceAnyRevisionIsRecorded) {
  ServiceUser current = converged();
  current.meta.annotations = journaledWithFinalizer().meta.annotations;
  ServiceUser journaled = journaledWithFinalizer();
  journaled.status.pending = PendingRecord{"Create", 3, "team-signer-r3", "Initial", ""};
  ServiceUser counted = journaledWithFinalizer();
  counted.status.revision = 2;
  EXPECT_FALSE(implyFirstJournal(current, kNow));
  EXPECT_FALSE(implyFirstJournal(counted, kNow));
  EXPECT_FALSE(implyFirstJournal(journaled, kNow));
  EXPECT_EQ(journaled.status.pending->revision, 3);
  EXPECT_FALSE(counted.status.pending.has_value());
}

TEST(ImpliedJournal, TheImpliedRevisionIsLookedUpLikeAWrittenOne) {
  ServiceUser su = journaledWithFinalizer();
  ASSERT_TRUE(implyFirstJournal(su, kNow));
  Observation o{&su, kNow, "", ownedSecret(1, "id-7"), remote("id-7", "x"), std::nullopt};
  EXPECT_EQ(decide(o).kind, StepKind::kAdopt);
  o.secret = {};
  EXPECT_EQ(decide(o).kind, StepKind::kRetireStranded);
  o.pending_lookup = std::optional<digicert::ServiceUser>();
  EXPECT_EQ(decide(o).kind, StepKind::kCreate);
}

TEST(Decision, JournalNamesTheNextRevisionAfterEveryRecordedOne) {
  ServiceUser su = converged();
  su.meta.annotations[kRotateAnnotation] = "go";
  Observation o{&su, kNow, "", ownedSecret(1, "id-1"), std::nullopt, std::nullopt};
  Step step = decide(o);
  ASSERT_EQ(step.kind, StepKind::kJournal);
  EXPECT_EQ(step.journal->revision, 2);
  EXPECT_EQ(step.journal->friendly_name, friendlyNameFor(friendlyNameBase(su), 2));
  EXPECT_EQ(step.journal->reason, "Requested");
  EXPECT_EQ(step.rotate_request, "go");
}

TEST(Decision, RetiringAStrandedIdentityJournalsARevisionAboveIt) {
  ServiceUser su = baseUser();
  su.status.pending = PendingRecord{"Create", 4, "team-signer-r4", "Initial", ""};
  Observation o{&su, kNow, "", {}, remote("id-4", "team-signer-r4"), std::nullopt};
  Step step = decide(o);
  ASSERT_EQ(step.kind, StepKind::kRetireStranded);
  EXPECT_EQ(step.stranded->id, "id-4");
  EXPECT_EQ(step.journal->revision, 5);
}

TEST(Decision, WaitingWakesAtTheRotationTime) {
  ServiceUser su = converged();
  Observation o{&su, kNow, "", ownedSecret(1, "id-1"), std::nullopt, std::nullopt};
  Step step = decide(o);
  ASSERT_EQ(step.kind, StepKind::kWait);
  ASSERT_TRUE(step.wake_at.has_value());
  EXPECT_EQ(*step.wake_at, rotationDue(Date{2026, 8, 30}, su.spec.renewBefore(), "uid-1"));
}

}  // namespace
}  // namespace su::serviceuser
