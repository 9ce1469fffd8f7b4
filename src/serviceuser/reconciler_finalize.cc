// Deletion of a ServiceUser: its identities are deleted, disabled or left by policy, its Secret
// goes (or stays, unowned, when identities are left active), then the finalizer is removed. When
// DigiCert ONE cannot be reached for longer than the deletion timeout, the deletion finishes
// anyway and an Event names every identity left behind.
#include "common/log.h"
#include "serviceuser/controller_metrics.h"
#include "serviceuser/reconciler_pass.h"

namespace su::serviceuser {
namespace {

struct Leftover {
  std::string id;
  std::string name;
};

std::vector<Leftover> identitiesOf(const Reconciler::Pass& pass) {
  std::vector<Leftover> out;
  const ServiceUserStatus& s = pass.su.status;
  if (s.current) out.push_back({s.current->id, s.current->friendly_name});
  if (s.predecessor) out.push_back({s.predecessor->id, s.predecessor->friendly_name});
  if (pass.obs.pending_lookup && pass.obs.pending_lookup->has_value()) {
    const auto& found = **pass.obs.pending_lookup;
    if (!s.current || s.current->id != found.id) out.push_back({found.id, found.friendly_name});
  }
  return out;
}

std::string names(const std::vector<Leftover>& list) {
  std::string out;
  for (const auto& l : list) out += (out.empty() ? "" : ", ") + l.name + " (id " + l.id + ")";
  return out;
}

}  // namespace

Result<kube::Outcome> Reconciler::finalize(Pass& pass) {
  if (!pass.su.meta.hasFinalizer(kFinalizer)) {
    pass.object_gone = true;
    return kube::Outcome::done();
  }
  bool orphan = pass.su.spec.deletion_policy == DeletionPolicy::kOrphan;
  std::vector<Leftover> identities = identitiesOf(pass);
  std::vector<Leftover> left;
  Error last = makeError(ErrorKind::kTransient, "the issuer is not usable");
  for (const Leftover& id : orphan ? std::vector<Leftover>{} : identities) {
    Status retired = pass.manager ? retire(pass, id.id, id.name, true) : Status(last);
    if (!retired) {
      last = retired.error();
      left.push_back(id);
    }
  }
  if (!left.empty()) {
    TimePoint deadline =
        pass.su.meta.deletion_timestamp.value_or(pass.now) + options_.deletion_timeout;
    if (pass.now < deadline) return last;
    event(pass, kube::EventType::kWarning, "IdentitiesLeftBehind", "Delete",
          "DigiCert ONE could not be reached within " + formatDuration(options_.deletion_timeout) +
              "; left active: " + names(left) + ". Retire them in the DigiCert ONE console");
    log::warn("identities left behind", {{"controller", kControllerName},
                                         {"namespace", pass.su.meta.namespace_name},
                                         {"name", pass.su.meta.name},
                                         {"identities", names(left)},
                                         {"error", last.describe()}});
  }
  if (orphan && !identities.empty()) {
    event(pass, kube::EventType::kNormal, "Orphaned", "Delete",
          "deletionPolicy Orphan: left active in DigiCert ONE: " + names(identities) + "; Secret " +
              pass.su.spec.secret_name + " is kept without an owner");
  }

  Status secret = (orphan || !left.empty()) ? releaseSecret(pass) : deleteSecret(pass);
  if (!secret) return secret.error();
  ControllerMetrics::get().identity_end.remove({pass.su.meta.namespace_name, pass.su.meta.name});
  return removeFinalizer(pass);
}

// Keeps the Secret (its token still works) but drops the owner reference, so garbage collection
// of the ServiceUser does not take it.
Status Reconciler::releaseSecret(Pass& pass) {
  auto live = client_.get(kube::kSecrets, pass.su.meta.namespace_name, pass.su.spec.secret_name);
  if (!live) return live.error().kind == ErrorKind::kNotFound ? Status::success() : live.error();
  if (!viewSecret(pass.su, &live.value()).owned) return Status::success();
  auto written = client_.update(kube::kSecrets, withoutOwner(pass.su, std::move(live).value()));
  return written ? Status::success() : Status(written.error());
}

Status Reconciler::deleteSecret(Pass& pass) {
  auto live = client_.get(kube::kSecrets, pass.su.meta.namespace_name, pass.su.spec.secret_name);
  if (!live) return live.error().kind == ErrorKind::kNotFound ? Status::success() : live.error();
  if (!viewSecret(pass.su, &live.value()).owned) return Status::success();
  kube::DeleteOptions options;
  options.uid = json::stringAt(*live, {"metadata", "uid"});
  Status removed = client_.remove(kube::kSecrets, pass.su.meta.namespace_name,
                                  pass.su.spec.secret_name, options);
  if (!removed && removed.error().kind != ErrorKind::kNotFound) return removed;
  return Status::success();
}

Result<kube::Outcome> Reconciler::removeFinalizer(Pass& pass) {
  std::vector<std::string> kept;
  for (const auto& f : pass.su.meta.finalizers) {
    if (f != kFinalizer) kept.push_back(f);
  }
  json::Json patch{
      {"metadata", {{"finalizers", kept}, {"resourceVersion", pass.su.meta.resource_version}}}};
  auto patched = client_.patch(kServiceUsers, pass.su.meta.namespace_name, pass.su.meta.name,
                               kube::PatchType::kMerge, patch);
  if (!patched && patched.error().kind != ErrorKind::kNotFound) return patched.error();
  if (pass.su.status.current) forgetChecks(pass.su.status.current->id);
  forgetWrites(pass.su.meta.namespace_name + "/" + pass.su.meta.name, pass.su.meta.uid);
  pass.object_gone = true;
  return kube::Outcome::done();
}

}  // namespace su::serviceuser
