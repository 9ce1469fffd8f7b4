#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "digicert/account_manager.h"
#include "serviceuser/api_types.h"

// The reconcile rule as a pure function: from what was observed and the time, the single next
// step. No I/O happens here, so every branch is a table test with a fixed clock.
namespace su::serviceuser {

// The Secret as read (from the cache, or live when the cache says it is missing).
struct SecretView {
  bool exists = false;
  bool owned = false;  // controlled by this ServiceUser (owner reference with its UID)
  int64_t revision = 0;
  std::string identity_id;
  bool has_token = false;
  bool has_certificate = false;
  bool metadata_current = true;  // labels and annotations match the template
};

struct Observation {
  const ServiceUser* su = nullptr;
  TimePoint now;
  // Empty when the issuer resolved; otherwise what is wrong with it.
  std::string issuer_problem;
  SecretView secret;
  // Set only when status.pending exists: the identity with the pending friendly name, if any.
  std::optional<std::optional<digicert::ServiceUser>> pending_lookup;
  // Set when the current identity was checked remotely.
  std::optional<digicert::UserStatus> current_remote_status;
};

enum class StepKind {
  kAddFinalizer,      // before any remote call
  kReport,            // a problem the user must fix; nothing else happens
  kJournal,           // record intent in status: the next revision and its friendly name
  kCreate,            // create the pending identity, write its token, record it
  kAdopt,             // the pending identity's token is already in the Secret: record it
  kRetireStranded,    // the pending identity exists without its token: retire it, journal anew
  kUpdateIdentity,    // description, e-mail or access changed: update the identity in place
  kIssueCertificate,  // a client certificate is wanted and the Secret has none for this identity
  kRetirePredecessor,
  kSyncSecretMetadata,  // labels or annotations of the template changed
  kFinalize,            // the ServiceUser is being deleted
  kWait,                // nothing to do until `wake_at`
};

const char* stepName(StepKind kind);

struct Step {
  StepKind kind = StepKind::kWait;
  // kJournal: what to record. kRetireStranded: the next journal entry.
  std::optional<PendingRecord> journal;
  // kRetireStranded: the identity found without its token.
  std::optional<digicert::ServiceUser> stranded;
  // kJournal for a rotate request: the annotation value handled.
  std::string rotate_request;
  // kReport: condition reason and a message naming the field and the fix.
  std::string reason;
  std::string message;
  // When to look again (kWait, kReport); epoch when there is no scheduled time.
  std::optional<TimePoint> wake_at;
};

Step decide(const Observation& o);

// The next revision number: one above every revision this ServiceUser has recorded.
int64_t nextRevision(const ServiceUserStatus& status);

// Whether status records no identity and no revision at all (a ServiceUser never served).
bool recordsNothing(const ServiceUserStatus& status);

// The first identity's journal entry is written with the finalizer, as the annotation
// kFirstIdentityAnnotation, so that a new ServiceUser needs no status write before its create.
// When status records nothing and that annotation names this ServiceUser's revision 1, this sets
// status.pending to that entry; like one written in status, it is looked up by name before
// anything is created or deleted. Without a usable annotation the journal is written to status.
bool implyFirstJournal(ServiceUser& su, TimePoint now);

}  // namespace su::serviceuser
