#pragma once

#include <memory>
#include <string>
#include <vector>

#include "serviceuser/reconciler.h"
#include "serviceuser/status_update.h"

namespace su::serviceuser {

// What one reconcile pass carries from step to step. Private to the reconciler's files.
struct Reconciler::Pass {
  std::string reconcile_id;
  json::Json object;  // the ServiceUser as last read or written
  ServiceUser su;
  TimePoint now;
  std::shared_ptr<digicert::AccountManager> manager;  // null when the issuer is not usable
  Observation obs;
  ServiceUserStatus next;  // the status to record
  Health health;
  bool object_gone = false;  // the finalizer was removed: nothing more to write
  // The finalizer was just added: status is written by the next pass, which its watch event
  // queues at once.
  bool status_deferred = false;
  // Resource versions of the ServiceUser this pass wrote over (see Reconciler::cacheLags).
  std::vector<std::string> overwritten;
  // Events of this pass, recorded once its outcome is known (see Reconciler::flushEvents).
  struct Event {
    kube::EventType type;
    std::string reason, action, note;
  };
  std::vector<Event> events;
};

// Takes the ServiceUser as a write returned it. A write the server found to change nothing keeps
// the resourceVersion, and so overwrote nothing.
inline void tookWrite(Reconciler::Pass& pass, json::Json written) {
  std::string before = pass.su.meta.resource_version;
  pass.object = std::move(written);
  pass.su.meta.resource_version = json::stringAt(pass.object, {"metadata", "resourceVersion"});
  if (pass.su.meta.resource_version != before) pass.overwritten.push_back(before);
}

// Errors that repeating will not fix: the user (or a DigiCert ONE administrator) must act.
inline bool userMustFix(ErrorKind kind) {
  return kind == ErrorKind::kInvalid || kind == ErrorKind::kForbidden ||
         kind == ErrorKind::kUnauthorized;
}

}  // namespace su::serviceuser
