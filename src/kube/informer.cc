#include "kube/informer.h"

#include "common/json.h"
#include "common/log.h"
#include "common/rate_limit.h"

namespace su::kube {
namespace {

// A watch that ends sooner than this without error still counts as a failure for backoff, so
// a server that closes streams at once cannot make the informer spin.
constexpr auto kShortestHealthyWatch = std::chrono::seconds(1);

std::string resourceVersionOf(const Json& object) {
  return json::stringAt(object, {"metadata", "resourceVersion"});
}

}  // namespace

std::vector<std::string> namespaceOf(const Json& object) {
  std::string ns = json::stringAt(object, {"metadata", "namespace"});
  if (ns.empty()) return {};
  return {ns};
}

std::vector<std::string> ownerUids(const Json& object) {
  std::vector<std::string> out;
  const Json* owners = json::at(object, {"metadata", "ownerReferences"});
  if (owners == nullptr || !owners->is_array()) return out;
  for (const Json& owner : *owners) {
    if (auto uid = json::getString(owner, "uid"); uid && !uid->empty()) out.push_back(*uid);
  }
  return out;
}

void stripManagedFields(Json& object) {
  auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) meta->erase("managedFields");
}

Informer::Informer(Client& client, InformerOptions options)
    : client_(client),
      options_(std::move(options)),
      cancel_(std::make_unique<net::CancelSource>()) {
  index_funcs_[kNamespaceIndex] = namespaceOf;
}

Informer::~Informer() { stop(); }

void Informer::addIndex(const std::string& name, IndexFunc func) {
  index_funcs_[name] = std::move(func);
}

void Informer::setHandlers(EventHandlers handlers) { handlers_ = std::move(handlers); }

void Informer::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(wake_mu_);
    stopping_ = true;
  }
  cancel_->cancel();
  wake_.notify_all();
  synced_cv_.notify_all();
  // From a handler (the informer's own thread) it only asks; the destructor joins.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(wake_mu_);
  return synced_cv_.wait_for(lock, timeout, [this] {
    return synced_.load() || stopping_.load();
  }) && synced_.load();
}

Informer::Entry Informer::entryFor(ObjectPtr object) const {
  Entry entry;
  entry.version = resourceVersionOf(*object);
  for (const auto& [name, func] : index_funcs_) {
    for (std::string& value : func(*object)) entry.filed.emplace_back(name, std::move(value));
  }
  if (options_.compact) {
    entry.text = object->dump(-1, ' ', false, Json::error_handler_t::replace);
  } else {
    entry.object = std::move(object);
  }
  return entry;
}

ObjectPtr Informer::objectOf(const Entry& entry) {
  if (entry.object) return entry.object;
  return std::make_shared<const Json>(Json::parse(entry.text));
}

// Compact entries are parsed outside the lock, from a copy of their text.
ObjectPtr Informer::get(const std::string& key) const {
  Entry found;
  {
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return nullptr;
    if (it->second.object) return it->second.object;
    found.text = it->second.text;
  }
  return objectOf(found);
}

std::vector<ObjectPtr> Informer::list() const {
  std::vector<ObjectPtr> out;
  for (const std::string& key : keys()) {
    if (ObjectPtr object = get(key)) out.push_back(std::move(object));
  }
  return out;
}

std::vector<ObjectPtr> Informer::byIndex(const std::string& index, const std::string& value) const {
  std::vector<ObjectPtr> out;
  for (const std::string& key : keysByIndex(index, value)) {
    if (ObjectPtr object = get(key)) out.push_back(std::move(object));
  }
  return out;
}

std::vector<std::string> Informer::keysByIndex(const std::string& index,
                                               const std::string& value) const {
  std::lock_guard lock(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return {};
  auto keys = idx->second.find(value);
  if (keys == idx->second.end()) return {};
  return {keys->second.begin(), keys->second.end()};
}

std::vector<std::string> Informer::keys() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, entry] : items_) out.push_back(key);
  return out;
}

std::string Informer::resourceVersion() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

void Informer::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(wake_mu_);
  wake_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void Informer::run() {
  int failures = 0;
  bool need_list = true;
  auto backoff = [&] {
    sleepFor(exponentialBackoff(failures++, options_.backoff_base, options_.backoff_cap));
  };
  while (!stopping_) {
    if (need_list) {
      if (Status s = relist(); !s) {
        log::warn("informer list failed",
                  {{"resource", options_.resource.displayName()}, {"error", s.error().describe()}});
        backoff();
        continue;
      }
      need_list = false;
    }
    auto started = std::chrono::steady_clock::now();
    bool gone = false;
    Status s = watchOnce(&gone);
    if (stopping_) break;
    if (gone) {
      log::info("informer watch expired, relisting",
                {{"resource", options_.resource.displayName()}});
      need_list = true;
      continue;
    }
    if (!s) {
      log::warn("informer watch failed",
                {{"resource", options_.resource.displayName()}, {"error", s.error().describe()}});
      // An HTTP refusal (403, 404) may mean the resource or the rights changed: start over.
      need_list = s.error().http_status != 0;
      backoff();
      continue;
    }
    if (std::chrono::steady_clock::now() - started < kShortestHealthyWatch) {
      backoff();
    } else {
      failures = 0;
    }
  }
}

Status Informer::relist() {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.limit = options_.page_size;
  std::map<std::string, Entry> fresh;
  auto version = client_.listEach(options_.resource, options_.ns, options, [&](Json&& item) {
    if (options_.transform) options_.transform(item);
    std::string key = objectKey(item);
    fresh[key] = entryFor(std::make_shared<const Json>(std::move(item)));
  });
  if (!version) return version.error();
  relists_++;

  // The difference to the cache, with the old objects the handlers are given.
  std::vector<std::pair<std::string, ObjectPtr>> deleted, updated;
  std::vector<std::string> added;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, entry] : items_) {
      if (!fresh.count(key)) deleted.emplace_back(key, objectOf(entry));
    }
    for (const auto& [key, entry] : fresh) {
      auto old = items_.find(key);
      if (old == items_.end()) {
        added.push_back(key);
      } else if (old->second.version != entry.version) {
        updated.emplace_back(key, objectOf(old->second));
      }
    }
  }
  for (const auto& [key, object] : deleted) erase(key);
  for (auto& [key, entry] : fresh) store(key, std::move(entry));
  fresh.clear();
  {
    std::lock_guard lock(mu_);
    resource_version_ = *version;
  }

  for (const auto& [key, object] : deleted) {
    if (handlers_.on_delete) handlers_.on_delete(key, *object);
  }
  for (const std::string& key : added) {
    if (ObjectPtr object = get(key); object && handlers_.on_add) handlers_.on_add(key, *object);
  }
  for (const auto& [key, old] : updated) {
    if (ObjectPtr object = get(key); object && handlers_.on_update) {
      handlers_.on_update(key, *old, *object);
    }
  }
  {
    std::lock_guard lock(wake_mu_);
    synced_ = true;
  }
  synced_cv_.notify_all();
  return Status::success();
}

Status Informer::watchOnce(bool* gone) {
  WatchOptions options;
  options.resource_version = resourceVersion();
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.timeout = options_.watch_timeout;
  if (options_.before_watch) options_.before_watch();
  if (stopping_) return Status::success();
  watches_++;
  auto ended = client_.watch(
      options_.resource, options_.ns, options,
      [this](WatchEvent&& event) {
        apply(std::move(event));
        return !stopping_.load();
      },
      *cancel_);
  if (ended) return Status::success();
  *gone = ended.error().http_status == 410;
  return ended.error();
}

void Informer::apply(WatchEvent&& event) {
  std::string rv = event.resourceVersion();
  if (event.type == WatchEventType::kBookmark) {
    std::lock_guard lock(mu_);
    resource_version_ = rv;
    return;
  }
  if (options_.transform) options_.transform(event.object);
  std::string key = objectKey(event.object);
  auto object = std::make_shared<const Json>(std::move(event.object));
  ObjectPtr old = get(key);

  if (event.type == WatchEventType::kDeleted) {
    erase(key);
  } else {
    store(key, entryFor(object));
  }
  {
    std::lock_guard lock(mu_);
    resource_version_ = rv;
  }

  if (event.type == WatchEventType::kDeleted) {
    if (handlers_.on_delete) handlers_.on_delete(key, old ? *old : *object);
  } else if (old) {
    if (handlers_.on_update) handlers_.on_update(key, *old, *object);
  } else {
    if (handlers_.on_add) handlers_.on_add(key, *object);
  }
}

void Informer::unindexLocked(const std::string& key, const Entry& entry) {
  for (const auto& [name, value] : entry.filed) {
    auto& index = indexes_[name];
    auto keys = index.find(value);
    if (keys == index.end()) continue;
    keys->second.erase(key);
    if (keys->second.empty()) index.erase(keys);
  }
}

void Informer::store(const std::string& key, Entry entry) {
  std::lock_guard lock(mu_);
  if (auto old = items_.find(key); old != items_.end()) unindexLocked(key, old->second);
  for (const auto& [name, value] : entry.filed) indexes_[name][value].insert(key);
  items_[key] = std::move(entry);
}

void Informer::erase(const std::string& key) {
  std::lock_guard lock(mu_);
  auto old = items_.find(key);
  if (old == items_.end()) return;
  unindexLocked(key, old->second);
  items_.erase(old);
}

}  // namespace su::kube
