#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "digicert/account_manager.h"
#include "serviceuser/api_types.h"

// How each step changes status, as pure functions of the old status. The reconciler writes the
// result only when it differs from what the API server holds.
namespace su::serviceuser {

// Intent before the remote create: the revision and friendly name about to be made.
ServiceUserStatus withJournal(ServiceUserStatus s, const PendingRecord& pending,
                              const std::string& rotate_request);

// The pending identity exists and its token is in the Secret: it becomes current, the old current
// becomes the predecessor (retired after the grace period, or at once when it no longer works).
ServiceUserStatus withCreated(ServiceUserStatus s, const ServiceUser& su,
                              const digicert::ServiceUser& created, TimePoint now,
                              const std::string& certificate_not_after);

ServiceUserStatus withPredecessorRetired(ServiceUserStatus s);
// A pending identity was found without its token and retired; the next revision is journaled.
ServiceUserStatus withStrandedRetired(ServiceUserStatus s, const PendingRecord& next);
ServiceUserStatus withIdentityUpdated(ServiceUserStatus s, const std::string& digest);
// Adds an identity that could not be retired to status.stranded (bounded, no duplicates).
ServiceUserStatus withStranded(ServiceUserStatus s, const StrandedRecord& record);

// Sets one condition; lastTransitionTime changes only when the status value changes.
void setCondition(ServiceUserStatus& s, const std::string& type, bool value,
                  const std::string& reason, const std::string& message, int64_t generation,
                  TimePoint now);

// Ready, Progressing and Degraded for the current state. `problem_reason` is set when a problem
// the user must fix was found (Degraded); `transient_error` when a remote call failed and will be
// retried.
struct Health {
  std::string problem_reason;
  std::string problem_message;
  std::string transient_error;
};
void setConditions(ServiceUserStatus& s, const ServiceUser& su, const Health& health,
                   TimePoint now);

// status.nextRotation for the current identity, or empty when none will happen.
std::string nextRotationText(const ServiceUser& su, const ServiceUserStatus& s);

}  // namespace su::serviceuser
