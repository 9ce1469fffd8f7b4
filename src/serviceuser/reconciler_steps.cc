// The steps of a reconcile pass. Each makes at most one remote change and then records it.
#include "common/log.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/pem.h"
#include "serviceuser/controller_metrics.h"
#include "serviceuser/naming.h"
#include "serviceuser/reconciler_pass.h"
#include "serviceuser/schedule.h"
#include "serviceuser/status_update.h"

namespace su::serviceuser {

namespace {

constexpr int kSecretWriteAttempts = 6;

digicert::ServiceUserSpec remoteSpec(const ServiceUser& su, const std::string& friendly_name,
                                     std::optional<Date> end_date) {
  digicert::ServiceUserSpec spec;
  spec.friendly_name = friendly_name;
  spec.description = su.spec.description;
  spec.email = su.spec.email;
  spec.end_date = end_date;
  spec.accounts = su.spec.accounts;
  spec.access = su.spec.access;
  return spec;
}

kube::Outcome now() { return kube::Outcome::after(std::chrono::milliseconds(1)); }

Error noManager() {
  return makeError(ErrorKind::kTransient, "the issuer is not usable; see the Degraded condition");
}

}  // namespace

// Adds the finalizer and, for a ServiceUser never served, the first identity's name in the same
// write: the journal entry of its first create (see implyFirstJournal).
Result<kube::Outcome> Reconciler::addFinalizer(Pass& pass) {
  ServiceUser after = pass.su;
  after.meta.finalizers.push_back(kFinalizer);
  json::Json metadata{{"finalizers", after.meta.finalizers},
                      {"resourceVersion", pass.su.meta.resource_version}};
  // Unless an earlier write gave it one already.
  bool journals = recordsNothing(pass.su.status) && !implyFirstJournal(after, pass.now);
  if (journals) {
    std::string name = friendlyNameFor(friendlyNameBase(pass.su), 1);
    metadata["annotations"] = {{kFirstIdentityAnnotation, name}};
    after.meta.annotations[kFirstIdentityAnnotation] = name;
  }
  auto patched = client_.patch(kServiceUsers, pass.su.meta.namespace_name, pass.su.meta.name,
                               kube::PatchType::kMerge, json::Json{{"metadata", metadata}});
  if (!patched) return patched.error();
  tookWrite(pass, std::move(patched).value());
  pass.su.meta.finalizers = after.meta.finalizers;
  pass.status_deferred = true;
  // An entry this write made has had no create sent for it: its look-up can be skipped.
  if (journals && implyFirstJournal(after, pass.now)) rememberJournal(after, after.status);
  return kube::Outcome::done();  // the watch event of this write queues the next pass
}

Result<kube::Outcome> Reconciler::journal(Pass& pass, const Step& step) {
  pass.next = withJournal(pass.next, *step.journal, step.rotate_request);
  const std::string& reason = step.journal->reason;
  if (reason == "SecretLost") {
    event(pass, kube::EventType::kWarning, "SecretLost", "Rotate",
          "Secret " + pass.su.spec.secret_name +
              " was deleted or emptied; a new identity replaces the one whose token it held");
  } else if (reason == "IdentityLost") {
    event(pass, kube::EventType::kWarning, "IdentityLost", "Rotate",
          "identity " + pass.su.status.current->friendly_name +
              " was disabled, deleted or expired in DigiCert ONE; a new identity replaces it");
  }
  return now();
}

Result<kube::Outcome> Reconciler::create(Pass& pass) {
  if (!pass.manager) return noManager();
  const PendingRecord& pending = *pass.su.status.pending;
  // From here on the identity may exist: later passes look it up by name.
  takeFreshJournal(pass.su, true);
  Date end = endDateFor(pass.now, pass.su.spec.duration, pass.su.spec.not_after);
  auto created = pass.manager->createServiceUser(remoteSpec(pass.su, pending.friendly_name, end));
  if (!created) {
    // A duplicate name or a lost answer is resolved by the look-up on the next pass.
    if (created.error().kind == ErrorKind::kConflict ||
        created.error().kind == ErrorKind::kUnknownOutcome) {
      log::warn("create outcome unknown", {{"controller", kControllerName},
                                           {"reconcile_id", pass.reconcile_id},
                                           {"namespace", pass.su.meta.namespace_name},
                                           {"name", pass.su.meta.name},
                                           {"revision", pending.revision},
                                           {"error", created.error().describe()}});
      return now();
    }
    return created.error();
  }
  ControllerMetrics::get().remote_changes.labels({"create"}).inc();
  digicert::ServiceUser identity = created->user;
  if (!identity.end_date) identity.end_date = end;
  Status delivered = deliver(pass, identity, std::move(created->token));
  if (!delivered) {
    // The token is gone with this process's memory: the next pass finds the identity without its
    // token in the Secret and retires it.
    event(pass, kube::EventType::kWarning, "TokenNotDelivered", "Deliver",
          "the token of " + identity.friendly_name + " could not be written to Secret " +
              pass.su.spec.secret_name + ": " + delivered.error().describe() +
              "; the identity will be retired and replaced");
    return delivered.error();
  }
  bool rotation = pass.su.status.current.has_value();
  pass.next = withCreated(pass.next, pass.su, identity, pass.now, "");
  if (rotation) ControllerMetrics::get().rotations.labels({pending.reason, "success"}).inc();
  event(pass, kube::EventType::kNormal, rotation ? "Rotated" : "Created", "CreateIdentity",
        "created " + identity.friendly_name + " (id " + identity.id + ", ends " +
            (identity.end_date ? formatDate(*identity.end_date) : std::string("never")) +
            ") and wrote its token to Secret " + pass.su.spec.secret_name);
  return now();
}

Status Reconciler::deliver(Pass& pass, const digicert::ServiceUser& created, SecretString token) {
  Delivery d;
  d.revision = pass.su.status.pending->revision;
  d.identity_id = created.id;
  d.identity_name = created.friendly_name;
  d.end_date = created.end_date ? formatDate(*created.end_date) : "";
  d.token = std::move(token);
  // The pass read the Secret live just before the create: when it was absent, the first attempt
  // creates it without another read (a Secret made meanwhile makes that create fail, and the next
  // attempt reads it).
  return writeSecret(
      pass.su,
      [&](json::Json* live) -> std::optional<json::Json> {
        return live ? replaceToken(pass.su, *live, d) : newSecret(pass.su, d);
      },
      !pass.obs.secret.exists);
}

// Reads the Secret live and writes what `build` makes of it (create when absent), retrying
// conflicts and transient failures a bounded number of times. A Secret this ServiceUser does not
// own is never written. `seen_absent`: the caller has just read it live and found none.
Status Reconciler::writeSecret(const ServiceUser& su, const SecretBuilder& build,
                               bool seen_absent) {
  Error last = makeError(ErrorKind::kTransient, "Secret not written");
  for (int attempt = 0; attempt < kSecretWriteAttempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(
          exponentialBackoff(attempt, std::chrono::milliseconds(100), std::chrono::seconds(2)));
    }
    Result<json::Json> live =
        attempt == 0 && seen_absent
            ? Result<json::Json>(makeError(ErrorKind::kNotFound, "seen absent"))
            : client_.get(kube::kSecrets, su.meta.namespace_name, su.spec.secret_name);
    if (!live && live.error().kind != ErrorKind::kNotFound) {
      last = live.error();
      continue;
    }
    if (live && !viewSecret(su, &live.value()).owned) {
      return makeError(ErrorKind::kInvalid,
                       "Secret " + su.spec.secret_name + " is not owned by this ServiceUser");
    }
    std::optional<json::Json> object = build(live ? &live.value() : nullptr);
    if (!object) {
      return makeError(ErrorKind::kNotFound, "Secret " + su.spec.secret_name + " is gone");
    }
    auto written = live ? client_.update(kube::kSecrets, *object)
                        : client_.create(kube::kSecrets, *object, su.meta.namespace_name);
    if (written) return Status::success();
    last = written.error();
    if (last.kind != ErrorKind::kConflict && last.kind != ErrorKind::kTransient &&
        last.kind != ErrorKind::kUnknownOutcome) {
      break;
    }
  }
  return last;
}

Result<kube::Outcome> Reconciler::adopt(Pass& pass) {
  const digicert::ServiceUser& found = **pass.obs.pending_lookup;
  bool rotation = pass.su.status.current.has_value();
  pass.next = withCreated(pass.next, pass.su, found, pass.now, "");
  event(pass, kube::EventType::kNormal, rotation ? "Rotated" : "Created", "RecordIdentity",
        "recorded " + found.friendly_name + " (id " + found.id +
            "), whose token was already in Secret " + pass.su.spec.secret_name);
  return now();
}

Result<kube::Outcome> Reconciler::retireStranded(Pass& pass, const Step& step) {
  if (!pass.manager) return noManager();
  Status retired = retire(pass, step.stranded->id, step.stranded->friendly_name, false);
  if (!retired && !userMustFix(retired.error().kind)) return retired.error();
  if (!retired) strand(pass, step.stranded->id, step.stranded->friendly_name, retired.error());
  pass.next = withStrandedRetired(pass.next, *step.journal);
  event(pass, kube::EventType::kWarning, "RetiredStranded", "RetireIdentity",
        "retired " + step.stranded->friendly_name + " (id " + step.stranded->id +
            "): it was created but its token never reached the Secret; creating " +
            step.journal->friendly_name + " instead");
  return now();
}

// Deletes or disables one identity; one that is already gone counts as retired.
Status Reconciler::retire(Pass& pass, const std::string& id, const std::string& name,
                          bool deleted_su) {
  bool disable = pass.su.spec.deletion_policy == DeletionPolicy::kDisable;
  Status done =
      disable ? pass.manager->disableServiceUser(id) : pass.manager->deleteServiceUser(id);
  if (!done && done.error().kind != ErrorKind::kNotFound) return done;
  ControllerMetrics::get().remote_changes.labels({disable ? "disable" : "delete"}).inc();
  log::info(disable ? "identity disabled" : "identity deleted",
            {{"controller", kControllerName},
             {"reconcile_id", pass.reconcile_id},
             {"namespace", pass.su.meta.namespace_name},
             {"name", pass.su.meta.name},
             {"identity", name},
             {"deleted_serviceuser", deleted_su ? "true" : "false"}});
  return Status::success();
}

// DigiCert ONE refused to retire an identity: it is listed in status.stranded for a human and
// the ServiceUser moves on instead of retrying forever.
void Reconciler::strand(Pass& pass, const std::string& id, const std::string& name,
                        const Error& error) {
  pass.next = withStranded(pass.next, {id, name, error.describe()});
  ControllerMetrics::get()
      .stranded.labels({pass.su.meta.namespace_name, pass.su.meta.name})
      .set(static_cast<double>(pass.next.stranded.size()));
  event(pass, kube::EventType::kWarning, "RetireFailed", "RetireIdentity",
        "DigiCert ONE refused to retire " + name + " (id " + id + "): " + error.describe() +
            ". It is listed in status.stranded; retire it in the DigiCert ONE console");
}

Result<kube::Outcome> Reconciler::updateIdentity(Pass& pass) {
  if (!pass.manager) return noManager();
  const IdentityRecord& current = *pass.su.status.current;
  Status updated = pass.manager->updateServiceUser(
      current.id, remoteSpec(pass.su, current.friendly_name, parseDate(current.end_date)));
  if (!updated) return updated.error();
  ControllerMetrics::get().remote_changes.labels({"update"}).inc();
  pass.next = withIdentityUpdated(pass.next, pass.su.spec.identityDigest());
  event(pass, kube::EventType::kNormal, "Updated", "UpdateIdentity",
        "updated description, e-mail, accounts and access of " + current.friendly_name);
  return now();
}

Result<kube::Outcome> Reconciler::issueCertificate(Pass& pass) {
  if (!pass.manager) return noManager();
  const IdentityRecord& current = *pass.su.status.current;
  auto type = *pass.su.spec.client_certificate == KeyAlgorithm::kRsa2048 ? pki::KeyType::kRsa2048
                                                                         : pki::KeyType::kEcP256;
  auto key = pki::generateKey(type);
  if (!key) return key.error();
  auto csr = pki::makeCsrPem(key->get(), pki::CsrSubject{current.friendly_name, "", {}, {}, {}});
  if (!csr) return csr.error();
  auto key_pem = pki::privateKeyPem(key->get());
  if (!key_pem) return key_pem.error();
  auto cert = pass.manager->requestClientCertificate(current.id, *csr, current.friendly_name,
                                                     parseDate(current.end_date));
  if (!cert) return cert.error();
  ControllerMetrics::get().remote_changes.labels({"certificate"}).inc();
  Status written = writeSecret(pass.su, [&](json::Json* live) -> std::optional<json::Json> {
    if (live == nullptr) return std::nullopt;
    return addCertificate(pass.su, *live, cert->certificate_pem, key_pem.value());
  });
  if (!written) return written.error();
  if (pass.next.current) pass.next.current->certificate_not_after = cert->not_after;
  event(pass, kube::EventType::kNormal, "CertificateIssued", "IssueCertificate",
        "client authentication certificate " + cert->serial + " for " + current.friendly_name +
            " written to Secret " + pass.su.spec.secret_name);
  return now();
}

Result<kube::Outcome> Reconciler::retirePredecessor(Pass& pass) {
  if (!pass.manager) return noManager();
  const PredecessorRecord& old = *pass.su.status.predecessor;
  Status retired = retire(pass, old.id, old.friendly_name, false);
  if (!retired && !userMustFix(retired.error().kind)) return retired.error();
  if (!retired) strand(pass, old.id, old.friendly_name, retired.error());
  pass.next = withPredecessorRetired(pass.next);
  event(pass, kube::EventType::kNormal, "Retired", "RetireIdentity",
        "retired " + old.friendly_name + " (id " + old.id + ")");
  return now();
}

Result<kube::Outcome> Reconciler::syncSecretMetadata(Pass& pass) {
  Status written = writeSecret(pass.su, [&](json::Json* live) -> std::optional<json::Json> {
    if (live == nullptr) return std::nullopt;
    return withTemplateMetadata(pass.su, *live);
  });
  if (!written) return written.error();
  return now();
}

}  // namespace su::serviceuser
