#include "serviceuser/status_update.h"

#include <algorithm>

#include "serviceuser/schedule.h"

namespace su::serviceuser {

ServiceUserStatus withJournal(ServiceUserStatus s, const PendingRecord& pending,
                              const std::string& rotate_request) {
  s.pending = pending;
  if (!rotate_request.empty()) s.last_rotate_request = rotate_request;
  return s;
}

ServiceUserStatus withCreated(ServiceUserStatus s, const ServiceUser& su,
                              const digicert::ServiceUser& created, TimePoint now,
                              const std::string& certificate_not_after) {
  const PendingRecord pending = s.pending.value_or(PendingRecord{});
  if (s.current && s.current->id != created.id) {
    auto grace = pending.reason == "IdentityLost" ? std::chrono::seconds(0) : su.spec.retire_grace;
    s.predecessor = PredecessorRecord{s.current->id, s.current->friendly_name, s.current->revision,
                                      formatRfc3339(now + grace)};
  }
  IdentityRecord current;
  current.id = created.id;
  current.friendly_name = created.friendly_name;
  current.revision = pending.revision;
  current.end_date = created.end_date ? formatDate(*created.end_date) : "";
  current.issued_at = formatRfc3339(now);
  current.certificate_not_after = certificate_not_after;
  current.spec_digest = su.spec.identityDigest();
  s.current = current;
  s.revision = pending.revision;
  s.pending.reset();
  return s;
}

ServiceUserStatus withPredecessorRetired(ServiceUserStatus s) {
  s.predecessor.reset();
  return s;
}

ServiceUserStatus withStrandedRetired(ServiceUserStatus s, const PendingRecord& next) {
  s.pending = next;
  return s;
}

ServiceUserStatus withIdentityUpdated(ServiceUserStatus s, const std::string& digest) {
  if (s.current) s.current->spec_digest = digest;
  return s;
}

ServiceUserStatus withStranded(ServiceUserStatus s, const StrandedRecord& record) {
  bool known = std::any_of(s.stranded.begin(), s.stranded.end(),
                           [&](const StrandedRecord& r) { return r.id == record.id; });
  if (!known && s.stranded.size() < 32) s.stranded.push_back(record);
  return s;
}

void setCondition(ServiceUserStatus& s, const std::string& type, bool value,
                  const std::string& reason, const std::string& message, int64_t generation,
                  TimePoint now) {
  std::string status = value ? "True" : "False";
  for (Condition& c : s.conditions) {
    if (c.type != type) continue;
    if (c.status != status) c.last_transition_time = formatRfc3339(now);
    c.status = status;
    c.reason = reason;
    c.message = message;
    c.observed_generation = generation;
    return;
  }
  s.conditions.push_back({type, status, reason, message, generation, formatRfc3339(now)});
}

namespace {

std::string readyMessage(const ServiceUser& su, const ServiceUserStatus& s) {
  std::string msg = "token of " + s.current->friendly_name + " is in Secret " + su.spec.secret_name;
  if (!s.current->end_date.empty()) msg += "; identity ends " + s.current->end_date;
  auto end = parseDate(s.current->end_date);
  if (su.spec.not_after && end && !renewalAllowed(su.spec, end)) {
    msg += "; not renewed past spec.lifetime.notAfter " + formatDate(*su.spec.not_after);
  }
  return msg;
}

std::pair<std::string, std::string> progress(const ServiceUserStatus& s) {
  if (s.pending) {
    return {s.current ? "Rotating" : "Creating",
            "creating " + s.pending->friendly_name + " (" + s.pending->reason + ")"};
  }
  if (s.predecessor) {
    return {"Retiring",
            s.predecessor->friendly_name + " is retired after " + s.predecessor->retire_after};
  }
  return {"Stable", "no change under way"};
}

}  // namespace

void setConditions(ServiceUserStatus& s, const ServiceUser& su, const Health& h, TimePoint now) {
  int64_t gen = su.meta.generation;
  bool ready = s.current.has_value() && h.problem_reason.empty();
  std::string ready_reason = ready ? (su.spec.suspend ? "Suspended" : "Issued")
                                   : (!h.problem_reason.empty() ? h.problem_reason : "Pending");
  std::string ready_message = ready                        ? readyMessage(su, s)
                              : !h.problem_message.empty() ? h.problem_message
                              : !h.transient_error.empty()
                                  ? "waiting for DigiCert ONE: " + h.transient_error
                                  : "the first identity is being created";
  setCondition(s, "Ready", ready, ready_reason, ready_message, gen, now);

  auto [progress_reason, progress_message] = progress(s);
  bool progressing = progress_reason != "Stable";
  setCondition(s, "Progressing", progressing, progress_reason, progress_message, gen, now);

  bool degraded = !h.problem_reason.empty();
  setCondition(s, "Degraded", degraded, degraded ? h.problem_reason : "AsExpected",
               degraded ? h.problem_message : "nothing needs attention", gen, now);
  s.observed_generation = gen;
  s.next_rotation = nextRotationText(su, s);
}

std::string nextRotationText(const ServiceUser& su, const ServiceUserStatus& s) {
  if (!s.current || su.spec.suspend) return {};
  auto due = nextRotation(su, *s.current);
  return due ? formatRfc3339(*due) : std::string();
}

}  // namespace su::serviceuser
