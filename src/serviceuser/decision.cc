#include "serviceuser/decision.h"

#include <algorithm>

#include "serviceuser/naming.h"
#include "serviceuser/schedule.h"

namespace su::serviceuser {
namespace {

Step make(StepKind kind) {
  Step s;
  s.kind = kind;
  return s;
}

Step report(std::string reason, std::string message, TimePoint wake_at) {
  Step s = make(StepKind::kReport);
  s.reason = std::move(reason);
  s.message = std::move(message);
  s.wake_at = wake_at;
  return s;
}

PendingRecord pendingFor(const ServiceUser& su, int64_t revision, const std::string& reason,
                         TimePoint now) {
  return PendingRecord{"Create", revision, friendlyNameFor(friendlyNameBase(su), revision), reason,
                       formatRfc3339(now)};
}

Step journal(const Observation& o, const std::string& reason) {
  Step s = make(StepKind::kJournal);
  s.journal = pendingFor(*o.su, nextRevision(o.su->status), reason, o.now);
  return s;
}

bool hardEndPassed(const Observation& o) {
  return o.su->spec.not_after && endOfDay(*o.su->spec.not_after) <= o.now;
}

Step hardEndReport(const Observation& o) {
  return report("HardEndDatePassed",
                "spec.lifetime.notAfter " + formatDate(*o.su->spec.not_after) +
                    " has passed; no new identity is created. Move it into the future",
                o.now + std::chrono::hours(1));
}

// The pending create decides everything until it is resolved.
Step resolvePending(const Observation& o) {
  const ServiceUser& su = *o.su;
  const PendingRecord& pending = *su.status.pending;
  if (!o.pending_lookup || !o.pending_lookup->has_value()) return make(StepKind::kCreate);
  const digicert::ServiceUser& found = **o.pending_lookup;
  if (o.secret.owned && o.secret.has_token && o.secret.revision == pending.revision &&
      o.secret.identity_id == found.id) {
    return make(StepKind::kAdopt);
  }
  Step s = make(StepKind::kRetireStranded);
  s.stranded = found;
  s.journal = pendingFor(su, std::max(nextRevision(su.status), pending.revision + 1),
                         pending.reason, o.now);
  return s;
}

bool identityLost(const Observation& o) {
  return o.current_remote_status && *o.current_remote_status != digicert::UserStatus::kActive &&
         *o.current_remote_status != digicert::UserStatus::kUnknown;
}

std::string rotateRequest(const ServiceUser& su) {
  auto it = su.meta.annotations.find(kRotateAnnotation);
  if (it == su.meta.annotations.end() || it->second.empty()) return {};
  return it->second == su.status.last_rotate_request ? std::string() : it->second;
}

// A new identity is wanted for `reason`. At most one predecessor may exist, so an older one is
// retired first.
Step replaceCurrent(const Observation& o, const std::string& reason) {
  if (hardEndPassed(o)) return hardEndReport(o);
  if (o.su->status.predecessor) return make(StepKind::kRetirePredecessor);
  return journal(o, reason);
}

// The Secret holds a token, but not the current identity's (restored from a backup, edited by
// hand): consumers would use a token that may be retired.
bool secretHoldsAnotherIdentity(const Observation& o) {
  return o.secret.identity_id != o.su->status.current->id;
}

Step steadyState(const Observation& o) {
  const ServiceUser& su = *o.su;
  const ServiceUserStatus& st = su.status;

  if (!o.secret.exists || !o.secret.has_token || secretHoldsAnotherIdentity(o)) {
    return replaceCurrent(o, "SecretLost");
  }
  if (identityLost(o)) return replaceCurrent(o, "IdentityLost");
  if (std::string request = rotateRequest(su); !request.empty()) {
    Step s = replaceCurrent(o, "Requested");
    if (s.kind == StepKind::kJournal) s.rotate_request = request;
    return s;
  }
  if (st.predecessor) {
    auto retire_at = parseRfc3339(st.predecessor->retire_after);
    if (!retire_at || reached(o.now, *retire_at)) return make(StepKind::kRetirePredecessor);
  }
  std::optional<TimePoint> due = nextRotation(su, *st.current);
  if (due && reached(o.now, *due)) return replaceCurrent(o, "Scheduled");
  if (st.current->spec_digest != su.spec.identityDigest()) return make(StepKind::kUpdateIdentity);
  if (su.spec.client_certificate && !o.secret.has_certificate) {
    return make(StepKind::kIssueCertificate);
  }
  if (!o.secret.metadata_current) return make(StepKind::kSyncSecretMetadata);

  Step wait = make(StepKind::kWait);
  if (due) wait.wake_at = due;
  if (st.predecessor) {
    if (auto at = parseRfc3339(st.predecessor->retire_after)) {
      wait.wake_at = wait.wake_at ? std::min(*wait.wake_at, *at) : *at;
    }
  }
  return wait;
}

}  // namespace

const char* stepName(StepKind kind) {
  switch (kind) {
    case StepKind::kAddFinalizer:
      return "add_finalizer";
    case StepKind::kReport:
      return "report";
    case StepKind::kJournal:
      return "journal";
    case StepKind::kCreate:
      return "create";
    case StepKind::kAdopt:
      return "adopt";
    case StepKind::kRetireStranded:
      return "retire_stranded";
    case StepKind::kUpdateIdentity:
      return "update_identity";
    case StepKind::kIssueCertificate:
      return "issue_certificate";
    case StepKind::kRetirePredecessor:
      return "retire_predecessor";
    case StepKind::kSyncSecretMetadata:
      return "sync_secret_metadata";
    case StepKind::kFinalize:
      return "finalize";
    case StepKind::kWait:
      return "wait";
  }
  return "wait";
}

int64_t nextRevision(const ServiceUserStatus& status) {
  int64_t top = status.revision;
  if (status.current) top = std::max(top, status.current->revision);
  if (status.predecessor) top = std::max(top, status.predecessor->revision);
  if (status.pending) top = std::max(top, status.pending->revision);
  return top + 1;
}

Step decide(const Observation& o) {
  const ServiceUser& su = *o.su;
  TimePoint retry = o.now + std::chrono::minutes(1);

  if (su.meta.deleting) return make(StepKind::kFinalize);
  if (!su.meta.hasFinalizer(kFinalizer)) return make(StepKind::kAddFinalizer);
  if (!o.issuer_problem.empty()) return report("IssuerNotReady", o.issuer_problem, retry);
  if (o.secret.exists && !o.secret.owned) {
    return report("SecretConflict",
                  "Secret " + su.spec.secret_name +
                      " exists and is not owned by this ServiceUser; it is left untouched. Delete "
                      "it or choose another spec.secret.name",
                  o.now + std::chrono::minutes(5));
  }
  if (su.status.pending) {
    Step step = resolvePending(o);
    // Suspended: a delivered identity is still recorded, but nothing is created or retired.
    bool remote = step.kind == StepKind::kCreate || step.kind == StepKind::kRetireStranded;
    if (su.spec.suspend && remote) return make(StepKind::kWait);
    return step.kind == StepKind::kCreate && hardEndPassed(o) ? hardEndReport(o) : step;
  }
  if (su.spec.suspend) return make(StepKind::kWait);

  if (!su.status.current) return hardEndPassed(o) ? hardEndReport(o) : journal(o, "Initial");
  return steadyState(o);
}

bool recordsNothing(const ServiceUserStatus& status) {
  return !status.current && !status.predecessor && !status.pending && nextRevision(status) == 1;
}

bool implyFirstJournal(ServiceUser& su, TimePoint now) {
  auto annotation = su.meta.annotations.find(kFirstIdentityAnnotation);
  if (!su.meta.hasFinalizer(kFinalizer) || !recordsNothing(su.status) ||
      annotation == su.meta.annotations.end() || !namesRevisionOf(su, annotation->second, 1)) {
    return false;
  }
  su.status.pending = PendingRecord{"Create", 1, annotation->second, "Initial", formatRfc3339(now)};
  return true;
}

}  // namespace su::serviceuser
