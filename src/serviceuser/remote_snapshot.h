#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "digicert/account_manager.h"

namespace su::serviceuser {

// The status of every service user of one Account Manager, listed at most once per interval, so
// that checking thousands of identities for out-of-band changes costs a few list pages instead
// of one request each. A status other than active is only a hint: the caller confirms it with a
// read of that one identity before acting on it.
class RemoteSnapshot {
 public:
  RemoteSnapshot(const Clock& clock, std::chrono::seconds max_age);

  // nullopt when the list could not be read or when `created_at` is not older than the snapshot
  // (an identity made after the list was taken is absent from it for no fault of its own).
  std::optional<digicert::UserStatus> statusOf(digicert::AccountManager& manager,
                                               const std::string& id, TimePoint created_at);

 private:
  struct Entry {
    std::mutex refresh_mu;  // one refresh at a time per manager
    TimePoint taken{};
    bool valid = false;
    std::map<std::string, digicert::UserStatus> statuses;
  };
  std::shared_ptr<Entry> entryFor(const digicert::AccountManager* manager);

  const Clock& clock_;
  std::chrono::seconds max_age_;
  std::mutex mu_;
  std::map<const digicert::AccountManager*, std::shared_ptr<Entry>> entries_;
};

}  // namespace su::serviceuser
