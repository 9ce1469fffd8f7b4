#pragma once

#include <string>

#include "common/metrics.h"

namespace su::serviceuser {

// The controller's series, all declared at start so /metrics shows them before the first event.
struct ControllerMetrics {
  metrics::Family<metrics::Counter>& reconciles;           // {result}
  metrics::Family<metrics::Histogram>& reconcile_seconds;  // {step}
  metrics::Family<metrics::Counter>& rotations;            // {reason, result}
  metrics::Family<metrics::Counter>& remote_changes;       // {operation}
  metrics::Family<metrics::Gauge>& identity_end;           // {namespace, name}
  metrics::Family<metrics::Gauge>& stranded;               // {namespace, name}

  static ControllerMetrics& get();
};

}  // namespace su::serviceuser
