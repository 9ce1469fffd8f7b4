#include "serviceuser/controller_metrics.h"

namespace su::serviceuser {

ControllerMetrics& ControllerMetrics::get() {
  static ControllerMetrics* m = [] {
    metrics::Registry& r = metrics::defaultRegistry();
    auto* made = new ControllerMetrics{
        r.counter("serviceuser_reconcile_total", "Reconcile passes by result.", {"result"}),
        r.histogram("serviceuser_reconcile_duration_seconds", "Duration of reconcile passes.",
                    {"step"}, {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
        r.counter("serviceuser_rotations_total",
                  "Identities created to replace another, by reason and result.",
                  {"reason", "result"}),
        r.counter("serviceuser_remote_changes_total", "Changes made in DigiCert ONE, by operation.",
                  {"operation"}),
        r.gauge("serviceuser_identity_end_timestamp_seconds",
                "When the current identity stops working (23:59:59 UTC of its end date).",
                {"namespace", "name"}),
        r.gauge("serviceuser_stranded_identities",
                "Identities that could not be retired and need a human.", {"namespace", "name"}),
    };
    for (const char* result : {"done", "requeue", "error", "conflict"}) {
      made->reconciles.labels({result});
    }
    for (const char* reason : {"Scheduled", "Requested", "SecretLost", "IdentityLost"}) {
      for (const char* result : {"success", "failure"}) made->rotations.labels({reason, result});
    }
    for (const char* op : {"create", "update", "delete", "disable", "certificate"}) {
      made->remote_changes.labels({op});
    }
    return made;
  }();
  return *m;
}

}  // namespace su::serviceuser
