
#include <atomic>
#include <random>

#include "common/log.h"
#include "serviceuser/controller_metrics.h"
#include "serviceuser/naming.h"
#include "serviceuser/reconciler_pass.h"
#include "serviceuser/schedule.h"
#include "serviceuser/status_update.h"

namespace su::serviceuser {

namespace {

constexpr std::chrono::seconds kCacheLagRetry{5};
// How long a pass waits for the cache to show this process's own write before it acts anyway.
constexpr std::chrono::seconds kCacheLagLimit{30};

std::string newReconcileId() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = std::random_device{}();
  char buf[20];
  std::snprintf(buf, sizeof buf, "%08llx",
                static_cast<unsigned long long>((seed << 20) ^ counter.fetch_add(1)));
  return buf;
}

bool changesRemote(StepKind kind) {
  switch (kind) {
    case StepKind::kCreate:
    case StepKind::kRetireStranded:
    case StepKind::kUpdateIdentity:
    case StepKind::kIssueCertificate:
    case StepKind::kRetirePredecessor:
    case StepKind::kFinalize:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds until(TimePoint now, TimePoint when, std::chrono::seconds cap) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
  if (d < std::chrono::seconds(1)) d = std::chrono::seconds(1);
  return std::min<std::chrono::milliseconds>(d, cap);
}

}  // namespace

Reconciler::Reconciler(kube::Client& client, kube::Informer& serviceusers, kube::Informer& secrets,
                       AccountManagerSource& managers, kube::EventRecorder& events,
                       const Clock& clock, ReconcilerOptions options)
    : client_(client),
      serviceusers_(serviceusers),
      secrets_(secrets),
      managers_(managers),
      events_(events),
      clock_(clock),
      options_(options),
      snapshot_(clock, options.identity_check_interval) {}

kube::Outcome Reconciler::reconcile(const std::string& key) {
  auto started = std::chrono::steady_clock::now();
  kube::ObjectPtr cached = serviceusers_.get(key);
  if (!cached) {
    forgetWrites(key, "");
    return kube::Outcome::done();  // deleted; its finalizer already ran
  }
  std::string cached_version = json::stringAt(*cached, {"metadata", "resourceVersion"});
  // The watch event of our own write queues the next pass; this is only the fallback.
  if (cacheLags(key, cached_version)) return kube::Outcome::after(kCacheLagRetry);

  Pass pass;
  pass.reconcile_id = newReconcileId();
  pass.object = *cached;
  pass.now = clock_.now();
  auto parsed = parseServiceUser(pass.object);
  if (!parsed) {
    pass.su.meta = parseMeta(pass.object);
    pass.su.status =
        parseStatus(json::at(pass.object, {"status"}) ? *json::at(pass.object, {"status"})
                                                      : json::Json::object());
    pass.next = pass.su.status;
    pass.health = {"InvalidSpec", parsed.error().message, ""};
    event(pass, kube::EventType::kWarning, "InvalidSpec", "Validate", parsed.error().message);
    setConditions(pass.next, pass.su, pass.health, pass.now);
    flushEvents(pass, writeStatus(pass).ok());
    rememberOverwritten(key, pass, cached_version);
    return kube::Outcome::done();
  }
  pass.su = std::move(parsed).value();
  implyFirstJournal(pass.su, pass.now);

  auto observed = observe(pass, false);
  Step step = observed ? decide(pass.obs) : Step{};
  if (observed && changesRemote(step.kind)) {
    // Act on what the API server holds now, never on a cache that may lag our own last write.
    observed = observe(pass, true);
    if (observed) step = decide(pass.obs);
  }

  kube::Outcome outcome;
  std::string result = "done";
  if (!observed) {
    outcome = afterError(pass, observed.error());
    result = "error";
  } else {
    pass.next = pass.su.status;
    auto executed = execute(pass, step);
    outcome = executed ? executed.value() : afterError(pass, executed.error());
    if (!executed) result = executed.error().kind == ErrorKind::kConflict ? "conflict" : "error";
  }

  if (!pass.object_gone && !pass.status_deferred) {
    if (!observed) pass.next = pass.su.status;
    setConditions(pass.next, pass.su, pass.health, pass.now);
    Status written = writeStatus(pass);
    flushEvents(pass, written.ok() || changesRemote(step.kind));
    if (written.ok() &&
        (step.kind == StepKind::kJournal || step.kind == StepKind::kRetireStranded)) {
      rememberJournal(pass.su, pass.next);
    }
    if (!written) {
      result = written.error().kind == ErrorKind::kConflict ? "conflict" : "error";
      outcome = written.error().kind == ErrorKind::kConflict
                    ? kube::Outcome::after(std::chrono::milliseconds(200))
                    : kube::Outcome::backoff();
    }
  }
  if (pass.object_gone) flushEvents(pass, true);
  rememberOverwritten(key, pass, cached_version);
  if (result == "done" && outcome.kind != kube::Outcome::Kind::kDone &&
      step.kind != StepKind::kWait) {
    result = "requeue";
  }

  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ControllerMetrics::get().reconciles.labels({result}).inc();
  ControllerMetrics::get().reconcile_seconds.labels({stepName(step.kind)}).observe(seconds);
  log::info("reconciled", {{"controller", kControllerName},
                           {"reconcile_id", pass.reconcile_id},
                           {"namespace", pass.su.meta.namespace_name},
                           {"name", pass.su.meta.name},
                           {"revision", pass.next.revision},
                           {"step", stepName(step.kind)},
                           {"result", result},
                           {"duration_ms", static_cast<int64_t>(seconds * 1000)}});
  return outcome;
}

Status Reconciler::observe(Pass& pass, bool live) {
  if (live) {
    auto fresh = client_.get(kServiceUsers, pass.su.meta.namespace_name, pass.su.meta.name);
    if (!fresh) return fresh.error();
    auto parsed = parseServiceUser(*fresh);
    if (!parsed) return parsed.error();
    pass.object = std::move(fresh).value();
    pass.su = std::move(parsed).value();
    implyFirstJournal(pass.su, pass.now);
  }
  Observation& o = pass.obs;
  o = Observation{};
  o.su = &pass.su;
  o.now = pass.now;

  auto manager = managers_.forServiceUser(pass.su);
  if (!manager && !userMustFix(manager.error().kind) &&
      manager.error().kind != ErrorKind::kNotFound) {
    return manager.error();
  }
  pass.manager = manager ? manager.value() : nullptr;
  if (!manager) o.issuer_problem = manager.error().message;

  std::string secret_key = pass.su.meta.namespace_name + "/" + pass.su.spec.secret_name;
  kube::ObjectPtr cached = live ? nullptr : secrets_.get(secret_key);
  if (cached) {
    o.secret = viewSecret(pass.su, cached.get());
  } else if (!live && !pass.su.status.current) {
    // Nothing was delivered yet, so a missing Secret decides nothing here; any remote step is
    // preceded by a live look that also finds a foreign Secret of that name.
    o.secret = SecretView{};
  } else {
    // The cache says missing (or a live view is wanted): only the API server can confirm it.
    auto secret =
        client_.get(kube::kSecrets, pass.su.meta.namespace_name, pass.su.spec.secret_name);
    if (!secret && secret.error().kind != ErrorKind::kNotFound) return secret.error();
    o.secret = viewSecret(pass.su, secret ? &secret.value() : nullptr);
  }

  if (pass.su.status.pending && pass.manager && takeFreshJournal(pass.su, false)) {
    o.pending_lookup = std::optional<digicert::ServiceUser>();  // no create was sent for it
  } else if (pass.su.status.pending && pass.manager) {
    auto found = pass.manager->findByFriendlyName(pass.su.status.pending->friendly_name);
    if (!found) return found.error();
    o.pending_lookup = found.value();
  }
  if (pass.su.status.current && pass.manager && !pass.su.meta.deleting) {
    o.current_remote_status = identityStatus(pass);
  }
  return Status::success();
}

// Whether the current identity still works in DigiCert ONE. The shared snapshot answers for
// most; anything but "active" is confirmed with a read of that identity before it counts.
std::optional<digicert::UserStatus> Reconciler::checkIdentity(Pass& pass) {
  const IdentityRecord& current = *pass.su.status.current;
  TimePoint issued = parseRfc3339(current.issued_at).value_or(pass.now);
  auto hint = snapshot_.statusOf(*pass.manager, current.id, issued);
  if (!hint || *hint == digicert::UserStatus::kActive) return hint;
  auto remote = pass.manager->getServiceUser(current.id);
  if (remote) return remote->status;
  if (remote.error().kind == ErrorKind::kNotFound) return digicert::UserStatus::kDeleted;
  return std::nullopt;
}

// The current identity's remote status, checked at most once per interval; the passes in between
// reuse the last answer, so a problem found by one check stays reported until the next.
std::optional<digicert::UserStatus> Reconciler::identityStatus(Pass& pass) {
  const std::string& id = pass.su.status.current->id;
  {
    std::lock_guard lock(checks_mu_);
    auto it = checks_.find(id);
    if (it != checks_.end() && clock_.now() - it->second.at < options_.identity_check_interval) {
      return it->second.status;
    }
  }
  std::optional<digicert::UserStatus> status = checkIdentity(pass);
  std::lock_guard lock(checks_mu_);
  // An unanswered check is repeated on the next pass.
  checks_[id] = IdentityCheck{status ? clock_.now() : TimePoint{}, status};
  return status;
}

Result<kube::Outcome> Reconciler::execute(Pass& pass, const Step& step) {
  switch (step.kind) {
    case StepKind::kAddFinalizer:
      return addFinalizer(pass);
    case StepKind::kReport:
      pass.health.problem_reason = step.reason;
      pass.health.problem_message = step.message;
      if (pass.su.status.condition("Degraded") == nullptr ||
          pass.su.status.condition("Degraded")->reason != step.reason) {
        event(pass, kube::EventType::kWarning, step.reason, "Reconcile", step.message);
      }
      return kube::Outcome::after(until(pass.now, *step.wake_at, options_.max_wait));
    case StepKind::kJournal:
      return journal(pass, step);
    case StepKind::kCreate:
      return create(pass);
    case StepKind::kAdopt:
      return adopt(pass);
    case StepKind::kRetireStranded:
      return retireStranded(pass, step);
    case StepKind::kUpdateIdentity:
      return updateIdentity(pass);
    case StepKind::kIssueCertificate:
      return issueCertificate(pass);
    case StepKind::kRetirePredecessor:
      return retirePredecessor(pass);
    case StepKind::kSyncSecretMetadata:
      return syncSecretMetadata(pass);
    case StepKind::kFinalize:
      return finalize(pass);
    case StepKind::kWait:
      return wait(pass, step);
  }
  return kube::Outcome::done();
}

kube::Outcome Reconciler::wait(Pass& pass, const Step& step) {
  const auto& current = pass.su.status.current;
  if (current) {
    if (auto end = parseDate(current->end_date)) {
      auto seconds =
          std::chrono::duration_cast<std::chrono::seconds>(endOfDay(*end).time_since_epoch());
      ControllerMetrics::get()
          .identity_end.labels({pass.su.meta.namespace_name, pass.su.meta.name})
          .set(static_cast<double>(seconds.count()));
    }
  }
  TimePoint wake = pass.now + options_.identity_check_interval;
  if (step.wake_at && *step.wake_at < wake) wake = *step.wake_at;
  return kube::Outcome::after(until(pass.now, wake, options_.max_wait));
}

Status Reconciler::writeStatus(Pass& pass) {
  if (pass.next == pass.su.status) return Status::success();
  json::Json object = pass.object;
  object["status"] = statusToJson(pass.next);
  object.erase("spec");  // the status subresource ignores spec; never send it back
  auto written = client_.updateStatus(kServiceUsers, object);
  if (!written) return written.error();
  tookWrite(pass, std::move(written).value());
  pass.su.status = pass.next;
  return Status::success();
}

kube::Outcome Reconciler::afterError(Pass& pass, const Error& error) {
  log::debug("step failed", {{"controller", kControllerName},
                             {"reconcile_id", pass.reconcile_id},
                             {"namespace", pass.su.meta.namespace_name},
                             {"name", pass.su.meta.name},
                             {"error", error.describe()}});
  if (error.kind == ErrorKind::kConflict) {
    return kube::Outcome::after(std::chrono::milliseconds(200));
  }
  if (userMustFix(error.kind)) {
    pass.health.problem_reason = "RemoteRejected";
    pass.health.problem_message = "DigiCert ONE refused the request: " + error.describe();
    event(pass, kube::EventType::kWarning, "RemoteRejected", "Reconcile",
          pass.health.problem_message);
    return kube::Outcome::after(std::chrono::minutes(5));
  }
  pass.health.transient_error = error.describe();
  if (error.retry_after) {
    return kube::Outcome::after(
        std::max<std::chrono::milliseconds>(*error.retry_after, std::chrono::milliseconds(100)));
  }
  return kube::Outcome::backoff();
}

void Reconciler::event(Pass& pass, kube::EventType type, const std::string& reason,
                       const std::string& action, const std::string& note) {
  pass.events.push_back({type, reason, action, note});
}

// A pass that changed something remote reports it whatever happened next. A pass that only
// changed status reports nothing when that write was refused: it acted on a stale cache, and the
// next pass will decide, and report, again.
void Reconciler::flushEvents(Pass& pass, bool recorded) {
  if (recorded) {
    for (const auto& e : pass.events) {
      events_.record(kube::ObjectReference::of(pass.object), e.type, e.reason, e.action, e.note);
    }
  }
  pass.events.clear();
}

void Reconciler::rememberJournal(const ServiceUser& su, const ServiceUserStatus& written) {
  if (!written.pending) return;
  std::lock_guard lock(fresh_mu_);
  fresh_journals_.insert(su.meta.uid + "/" + std::to_string(written.pending->revision));
}

bool Reconciler::takeFreshJournal(const ServiceUser& su, bool consume) {
  if (!su.status.pending) return false;
  std::lock_guard lock(fresh_mu_);
  auto it = fresh_journals_.find(su.meta.uid + "/" + std::to_string(su.status.pending->revision));
  if (it == fresh_journals_.end()) return false;
  if (consume) fresh_journals_.erase(it);
  return true;
}

bool Reconciler::cacheLags(const std::string& key, const std::string& cached_version) {
  std::lock_guard lock(overwritten_mu_);
  auto it = overwritten_.find(key);
  if (it == overwritten_.end()) return false;
  bool lags = it->second.versions.count(cached_version) > 0 &&
              std::chrono::steady_clock::now() - it->second.at < kCacheLagLimit;
  // Past our writes (or waited for long enough: the informer may be relisting): act again.
  if (!lags) overwritten_.erase(it);
  return lags;
}

// Remembers the versions a pass wrote over, the cached one it started from included. A pass that
// wrote nothing, or removed the finalizer, leaves nothing to wait for.
void Reconciler::rememberOverwritten(const std::string& key, const Pass& pass,
                                     const std::string& cached_version) {
  if (pass.overwritten.empty() || pass.object_gone) return forgetWrites(key, "");
  std::lock_guard lock(overwritten_mu_);
  Overwritten& entry = overwritten_[key];
  entry.at = std::chrono::steady_clock::now();
  entry.versions = std::set<std::string>(pass.overwritten.begin(), pass.overwritten.end());
  entry.versions.insert(cached_version);
}

// Drops what this process remembers of a ServiceUser's writes: the versions written over, and
// (given its UID) journal entries no create was sent for.
void Reconciler::forgetWrites(const std::string& key, const std::string& uid) {
  {
    std::lock_guard lock(overwritten_mu_);
    overwritten_.erase(key);
  }
  if (uid.empty()) return;
  std::lock_guard lock(fresh_mu_);
  std::string prefix = uid + "/";
  for (auto it = fresh_journals_.lower_bound(prefix);
       it != fresh_journals_.end() && it->rfind(prefix, 0) == 0;) {
    it = fresh_journals_.erase(it);
  }
}

void Reconciler::forgetChecks(const std::string& identity_id) {
  std::lock_guard lock(checks_mu_);
  checks_.erase(identity_id);
}

}  // namespace su::serviceuser
