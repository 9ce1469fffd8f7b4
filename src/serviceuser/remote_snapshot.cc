#include "serviceuser/remote_snapshot.h"

namespace su::serviceuser {

RemoteSnapshot::RemoteSnapshot(const Clock& clock, std::chrono::seconds max_age)
    : clock_(clock), max_age_(max_age) {}

std::shared_ptr<RemoteSnapshot::Entry> RemoteSnapshot::entryFor(
    const digicert::AccountManager* manager) {
  std::lock_guard lock(mu_);
  auto& slot = entries_[manager];
  if (!slot) slot = std::make_shared<Entry>();
  return slot;
}

std::optional<digicert::UserStatus> RemoteSnapshot::statusOf(digicert::AccountManager& manager,
                                                             const std::string& id,
                                                             TimePoint created_at) {
  std::shared_ptr<Entry> entry = entryFor(&manager);
  std::lock_guard lock(entry->refresh_mu);
  TimePoint now = clock_.now();
  if (!entry->valid || now - entry->taken >= max_age_) {
    auto users = manager.listServiceUsers();
    entry->valid = users.ok();
    if (!users) return std::nullopt;
    entry->taken = now;
    entry->statuses.clear();
    for (const auto& user : *users) entry->statuses[user.id] = user.status;
  }
  auto it = entry->statuses.find(id);
  if (it != entry->statuses.end()) return it->second;
  if (created_at + std::chrono::seconds(5) >= entry->taken) return std::nullopt;
  return digicert::UserStatus::kDeleted;
}

}  // namespace su::serviceuser
