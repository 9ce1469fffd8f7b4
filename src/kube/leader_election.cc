#include "kube/leader_election.h"

#include "common/json.h"
#include "common/log.h"

namespace su::kube {
namespace {

using Steady = std::chrono::steady_clock;

int64_t wholeSeconds(std::chrono::milliseconds d) {
  return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

Error heldByOther(const std::string& holder) {
  return makeError(ErrorKind::kConflict, "the lease is held by " + holder);
}

}  // namespace

Result<std::unique_ptr<LeaderElector>> LeaderElector::create(const RestConfig& config,
                                                             LeaderElectionOptions options,
                                                             LeaderCallbacks callbacks) {
  if (options.lease_name.empty() || options.lease_namespace.empty() || options.identity.empty()) {
    return makeError(ErrorKind::kInvalid,
                     "leader election needs a lease name, namespace and identity");
  }
  if (options.renew_deadline >= options.lease_duration ||
      options.retry_period >= options.renew_deadline) {
    return makeError(ErrorKind::kInvalid,
                     "leader election needs retry period < renew deadline < lease duration");
  }
  RestConfig own = config;
  own.timeout = std::max(
      std::chrono::milliseconds(100),
      std::min(options.retry_period, (options.lease_duration - options.renew_deadline) / 2));
  ClientOptions client_options;
  client_options.max_attempts = 1;
  auto client = Client::create(std::move(own), client_options);
  if (!client) return client.error();
  return std::unique_ptr<LeaderElector>(
      new LeaderElector(std::move(client).value(), std::move(options), std::move(callbacks)));
}

LeaderElector::LeaderElector(std::unique_ptr<Client> client, LeaderElectionOptions options,
                             LeaderCallbacks callbacks)
    : client_(std::move(client)), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // From a callback (the elector's own thread) it only asks; the destructor joins.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mu_);
  return observed_holder_;
}

bool LeaderElector::waitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void LeaderElector::run() {
  if (!acquire()) return;
  leading_ = true;
  log::info("became leader", {{"lease", options_.lease_name}, {"identity", options_.identity}});
  if (callbacks_.on_started_leading) callbacks_.on_started_leading();

  bool stopped_cleanly = renewUntilLost();
  leading_ = false;
  if (stopped_cleanly && options_.release_on_stop) release();
  log::info("stopped leading", {{"lease", options_.lease_name}, {"identity", options_.identity}});
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

bool LeaderElector::acquire() {
  while (true) {
    Status s = tryAcquireOrRenew();
    if (s) return true;
    if (s.error().kind != ErrorKind::kConflict) {
      log::debug("lease not acquired",
                 {{"lease", options_.lease_name}, {"error", s.error().describe()}});
    }
    if (!waitFor(options_.retry_period)) return false;
  }
}

bool LeaderElector::isLeader() const {
  return leading_.load() && Steady::now().time_since_epoch().count() < valid_until_.load();
}

// Renews every retry period; returns true when stop() ended it, false when no renewal succeeded
// within the renew deadline. A renewal counts from when its request started, the latest moment
// the server can have recorded it.
bool LeaderElector::renewUntilLost() {
  auto last_renew = Steady::now() - options_.retry_period;  // the acquiring request, at worst
  valid_until_ = (last_renew + options_.renew_deadline).time_since_epoch().count();
  while (true) {
    auto deadline = last_renew + options_.renew_deadline;
    auto wait = std::min<Steady::duration>(options_.retry_period, deadline - Steady::now());
    if (wait > Steady::duration::zero() &&
        !waitFor(std::chrono::duration_cast<std::chrono::milliseconds>(wait))) {
      return true;
    }
    if (Steady::now() >= deadline) return false;
    auto attempt = Steady::now();
    Status s = tryAcquireOrRenew();
    if (s) {
      last_renew = attempt;
      valid_until_ = (last_renew + options_.renew_deadline).time_since_epoch().count();
      continue;
    }
    log::warn("lease renewal failed",
              {{"lease", options_.lease_name}, {"error", s.error().describe()}});
  }
}

void LeaderElector::observe(const Json& lease) {
  std::string holder = json::stringAt(lease, {"spec", "holderIdentity"});
  std::string renew = json::stringAt(lease, {"spec", "renewTime"});
  bool changed_holder = false;
  {
    std::lock_guard lock(mu_);
    if (holder != observed_holder_ || renew != observed_renew_time_) {
      changed_holder = holder != observed_holder_;
      observed_holder_ = holder;
      observed_renew_time_ = renew;
      observed_at_ = Steady::now();
    }
    lease_ = lease;
  }
  if (changed_holder && !holder.empty() && callbacks_.on_new_leader)
    callbacks_.on_new_leader(holder);
}

Status LeaderElector::tryAcquireOrRenew() {
  std::string now = formatMicroTime(std::chrono::system_clock::now());
  Json lease;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
  }
  // A leader renews from the copy it last wrote; anyone else reads the Lease first.
  if (!leading_ || lease.is_null()) {
    auto read = client_->get(kLeases, options_.lease_namespace, options_.lease_name);
    if (!read && read.error().kind == ErrorKind::kNotFound) {
      Json fresh = {
          {"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", options_.lease_name}, {"namespace", options_.lease_namespace}}},
          {"spec",
           {{"holderIdentity", options_.identity},
            {"leaseDurationSeconds", wholeSeconds(options_.lease_duration)},
            {"acquireTime", now},
            {"renewTime", now},
            {"leaseTransitions", 0}}}};
      auto created = client_->create(kLeases, fresh);
      if (!created) return created.error();
      observe(*created);
      return Status::success();
    }
    if (!read) return read.error();
    observe(*read);
    lease = std::move(read).value();
  }

  std::string holder = json::stringAt(lease, {"spec", "holderIdentity"});
  if (!holder.empty() && holder != options_.identity) {
    auto seconds = json::getInt(lease["spec"], "leaseDurationSeconds");
    auto duration = seconds
                        ? std::chrono::seconds(*seconds)
                        : std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration);
    std::lock_guard lock(mu_);
    if (observed_at_ + duration > Steady::now()) return heldByOther(holder);
  }

  Json& spec = lease["spec"];
  if (holder != options_.identity) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = json::getInt(spec, "leaseTransitions").value_or(0) + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = wholeSeconds(options_.lease_duration);
  spec["renewTime"] = now;
  auto updated = client_->update(kLeases, lease);  // carries the resourceVersion read
  if (!updated) {
    std::lock_guard lock(mu_);
    lease_ = Json();  // read again next time
    return updated.error();
  }
  observe(*updated);
  return Status::success();
}

// Gives the Lease up so a successor need not wait for it to expire.
void LeaderElector::release() {
  Json lease;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
  }
  if (lease.is_null() || json::stringAt(lease, {"spec", "holderIdentity"}) != options_.identity) {
    return;
  }
  std::string now = formatMicroTime(std::chrono::system_clock::now());
  lease["spec"]["holderIdentity"] = nullptr;
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now;
  auto updated = client_->update(kLeases, lease);
  if (!updated) {
    log::warn("lease release failed",
              {{"lease", options_.lease_name}, {"error", updated.error().describe()}});
  }
}

}  // namespace su::kube
