#include "kube/events.h"

#include <algorithm>

#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "pki/digest.h"

namespace su::kube {
namespace {

using Steady = std::chrono::steady_clock;
constexpr size_t kMaxNoteBytes = 1024;

metrics::Family<metrics::Counter>& droppedCounter() {
  static auto& family = metrics::defaultRegistry().counter(
      "kube_events_dropped_total", "Events not written because the recorder's queue was full.");
  return family;
}

// A digest of what makes two events the same: series are kept for their lifetime, one per
// distinct event, so the key stays small whatever the note's length.
std::string seriesKey(const ObjectReference& r, EventType type, const std::string& reason,
                      const std::string& action, const std::string& note) {
  std::string key;
  for (const std::string* part : {&r.uid, &r.ns, &r.name, &r.kind, &reason, &action, &note}) {
    key += *part;
    key.push_back('\x1f');
  }
  key += type == EventType::kWarning ? "W" : "N";
  return pki::sha256Hex(key);
}

std::string truncateNote(std::string note) {
  if (note.size() <= kMaxNoteBytes) return note;
  size_t cut = kMaxNoteBytes;
  while (cut > 0 && (static_cast<unsigned char>(note[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  note.resize(cut);
  return note;
}

std::string eventName(const std::string& object_name, TimePoint at) {
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(nanos));
  std::string prefix = object_name.empty() ? "event" : object_name;
  if (prefix.size() > 200) prefix.resize(200);
  return prefix + "." + buf;
}

}  // namespace

ObjectReference ObjectReference::of(const Json& object) {
  ObjectReference r;
  r.api_version = json::getString(object, "apiVersion").value_or("");
  r.kind = json::getString(object, "kind").value_or("");
  r.ns = json::stringAt(object, {"metadata", "namespace"});
  r.name = json::stringAt(object, {"metadata", "name"});
  r.uid = json::stringAt(object, {"metadata", "uid"});
  r.resource_version = json::stringAt(object, {"metadata", "resourceVersion"});
  return r;
}

Json ObjectReference::toJson() const {
  Json out = Json::object();
  const std::pair<const char*, const std::string*> fields[] = {
      {"apiVersion", &api_version},
      {"kind", &kind},
      {"namespace", &ns},
      {"name", &name},
      {"uid", &uid},
      {"resourceVersion", &resource_version}};
  for (const auto& [key, value] : fields) {
    if (!value->empty()) out[key] = *value;
  }
  return out;
}

EventRecorder::EventRecorder(Client& client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)) {
  droppedCounter().labels({});
  thread_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    give_up_at_ = (Steady::now() + options_.shutdown_timeout).time_since_epoch().count();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventRecorder::record(const ObjectReference& regarding, EventType type, std::string reason,
                           std::string action, std::string note) {
  Pending p{regarding,
            type,
            std::move(reason),
            std::move(action),
            truncateNote(std::move(note)),
            std::chrono::system_clock::now()};
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) {
      droppedCounter().labels({}).inc();
      return;
    }
    queue_.push_back(std::move(p));
  }
  cv_.notify_all();
}

bool EventRecorder::idleLocked() const { return queue_.empty() && !busy_ && !flush_requested_; }

bool EventRecorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  flush_requested_ = true;
  cv_.notify_all();
  return idle_cv_.wait_for(lock, timeout, [this] { return idleLocked(); });
}

// How long the writer sleeps: until the next series may be written, or a second when none
// waits. Never zero, so a zero series interval cannot spin.
std::chrono::milliseconds EventRecorder::idleWait() const {
  bool pending = false;
  for (const auto& [key, series] : series_) pending |= series.count != series.written_count;
  if (!pending) return std::chrono::seconds(1);
  return std::clamp<std::chrono::milliseconds>(
      options_.series_interval, std::chrono::milliseconds(10), std::chrono::seconds(1));
}

void EventRecorder::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, idleWait(),
                 [this] { return stopping_ || flush_requested_ || !queue_.empty(); });
    bool stopping = stopping_;
    bool flush = flush_requested_;
    std::deque<Pending> batch;
    batch.swap(queue_);
    busy_ = true;
    lock.unlock();

    for (const Pending& p : batch) {
      if (pastShutdownDeadline()) {
        droppedCounter().labels({}).inc();
        continue;
      }
      handle(p);
    }
    if (!pastShutdownDeadline()) writeDueSeries(stopping || flush);

    lock.lock();
    busy_ = false;
    if (flush && queue_.empty()) flush_requested_ = false;
    if (idleLocked()) idle_cv_.notify_all();
    if (stopping && queue_.empty()) return;
  }
}

bool EventRecorder::pastShutdownDeadline() const {
  return Steady::now().time_since_epoch().count() > give_up_at_.load();
}

void EventRecorder::handle(const Pending& p) {
  std::string key = seriesKey(p.regarding, p.type, p.reason, p.action, p.note);
  auto it = series_.find(key);
  bool fresh = it == series_.end() || p.at - it->second.last_observed > options_.series_lifetime;
  if (fresh) {
    Series series;
    series.last_observed = p.at;
    if (Status s = createEvent(p, series); !s) {
      log::warn("event not written", {{"reason", p.reason}, {"error", s.error().describe()}});
      return;
    }
    series_[key] = std::move(series);
    return;
  }
  it->second.count++;
  it->second.last_observed = p.at;
}

Status EventRecorder::createEvent(const Pending& p, Series& series) {
  std::string ns = p.regarding.ns.empty() ? "default" : p.regarding.ns;
  Json event = {
      {"apiVersion", "events.k8s.io/v1"},
      {"kind", "Event"},
      {"metadata", {{"name", eventName(p.regarding.name, p.at)}, {"namespace", ns}}},
      {"eventTime", formatMicroTime(p.at)},
      {"reportingController", options_.controller},
      {"reportingInstance", options_.instance},
      {"action", p.action},
      {"reason", p.reason},
      {"type", p.type == EventType::kWarning ? "Warning" : "Normal"},
      {"regarding", p.regarding.toJson()},
      {"note", p.note},
  };
  auto created = client_.create(kEvents, event);
  if (!created) return created.error();
  series.ns = ns;
  series.name = json::stringAt(*created, {"metadata", "name"});
  series.last_written = Steady::now();
  return Status::success();
}

Status EventRecorder::writeSeries(Series& series) {
  Json patch = {
      {"series",
       {{"count", series.count}, {"lastObservedTime", formatMicroTime(series.last_observed)}}}};
  auto patched = client_.patch(kEvents, series.ns, series.name, PatchType::kMerge, patch);
  if (!patched) return patched.error();
  series.written_count = series.count;
  series.last_written = Steady::now();
  return Status::success();
}

// Writes the repeats counted since the last write, for series whose interval has passed (or all
// of them), and forgets series that have been quiet for their lifetime.
void EventRecorder::writeDueSeries(bool all) {
  auto now = Steady::now();
  auto wall = std::chrono::system_clock::now();
  for (auto it = series_.begin(); it != series_.end();) {
    Series& s = it->second;
    bool pending = s.count != s.written_count;
    if (pending && (all || now - s.last_written >= options_.series_interval)) {
      if (Status st = writeSeries(s); !st) {
        log::warn("event series not written", {{"name", s.name}, {"error", st.error().describe()}});
        if (st.error().kind == ErrorKind::kNotFound) {
          it = series_.erase(it);  // expired on the server: the next repeat starts anew
          continue;
        }
      }
    }
    if (!pending && wall - s.last_observed > options_.series_lifetime) {
      it = series_.erase(it);
      continue;
    }
    ++it;
  }
}

}  // namespace su::kube
