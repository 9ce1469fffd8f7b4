// A list/watch cache of one resource (an informer), with handlers that receive object keys.
//
//   su::kube::Informer secrets(*client, {.resource = su::kube::kSecrets,
//                                        .label_selector = "app.kubernetes.io/managed-by=x",
//                                        .transform = su::kube::stripManagedFields});
//   secrets.addIndex(su::kube::kOwnerUidIndex, su::kube::ownerUids);  // before start()
//   secrets.setHandlers({.on_add = enqueue, .on_update = enqueue, .on_delete = enqueue});
//   secrets.start();
//   secrets.waitForSync(std::chrono::seconds(30));
//   auto owned = secrets.byIndex(su::kube::kOwnerUidIndex, uid);
//
// It lists, then watches from the list's resourceVersion with bookmarks and a server-side
// timeout. A closed stream resumes from the last resourceVersion seen; a broken one (server
// restart) resumes after a backoff; 410 Gone relists and emits the difference between the cache
// and the new list as adds, updates and deletes, so no change is lost. Handlers run one at a
// time on the informer's own thread and must not block for long (enqueue and return).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kube/rest_client.h"

namespace su::kube {

using ObjectPtr = std::shared_ptr<const Json>;
// Maps an object to the index values it is filed under.
using IndexFunc = std::function<std::vector<std::string>(const Json& object)>;
// Rewrites an object before it is cached (drop fields, hash Secret data). Handlers and readers
// see the transformed object.
using TransformFunc = std::function<void(Json& object)>;

inline constexpr const char* kNamespaceIndex = "namespace";
inline constexpr const char* kOwnerUidIndex = "owner-uid";
std::vector<std::string> namespaceOf(const Json& object);
std::vector<std::string> ownerUids(const Json& object);
// Removes metadata.managedFields, which is most of a small object's size.
void stripManagedFields(Json& object);

struct EventHandlers {
  // `object` is the cached (transformed) object; for on_delete the last one known.
  std::function<void(const std::string& key, const Json& object)> on_add;
  std::function<void(const std::string& key, const Json& old_object, const Json& object)> on_update;
  std::function<void(const std::string& key, const Json& object)> on_delete;
};

struct InformerOptions {
  Resource resource;
  std::string ns;  // empty: all namespaces
  std::string label_selector;
  std::string field_selector;
  TransformFunc transform;
  // Keep each cached object as compact JSON text and parse it on every read: about a sixth of
  // the memory of the parsed form, for tens of microseconds per read of a small object.
  bool compact = false;
  int64_t page_size = 500;
  std::chrono::seconds watch_timeout{300};
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{30000};
  // Runs on the informer's thread before each watch request. A seam for tests that need the
  // informer disconnected at a known moment; leave empty in production.
  std::function<void()> before_watch;
};

class Informer {
 public:
  Informer(Client& client, InformerOptions options);
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Both only before start().
  void addIndex(const std::string& name, IndexFunc func);
  void setHandlers(EventHandlers handlers);

  void start();
  // Cancels the watch in flight and joins the thread (a handler may call it; the destructor
  // joins then).
  void stop();

  // True once the first list is in the cache and its adds were handed out.
  bool hasSynced() const { return synced_.load(); }
  bool waitForSync(std::chrono::milliseconds timeout);

  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;
  std::vector<ObjectPtr> byIndex(const std::string& index, const std::string& value) const;
  // The keys filed under `value`, read without touching (or, when compact, parsing) the objects.
  std::vector<std::string> keysByIndex(const std::string& index, const std::string& value) const;
  std::vector<std::string> keys() const;
  // The newest resourceVersion the cache reflects (from the list, events or bookmarks).
  std::string resourceVersion() const;

  // Counters for tests and metrics.
  int64_t relistCount() const { return relists_.load(); }
  int64_t watchCount() const { return watches_.load(); }

 private:
  void run();
  Status relist();
  Status watchOnce(bool* gone);
  void apply(WatchEvent&& event);
  // One cached object, parsed or (compact) as JSON text, with what is read without parsing it.
  struct Entry {
    ObjectPtr object;
    std::string text;
    std::string version;
    std::vector<std::pair<std::string, std::string>> filed;  // (index, value)
  };
  Entry entryFor(ObjectPtr object) const;
  static ObjectPtr objectOf(const Entry& entry);
  void store(const std::string& key, Entry entry);
  void erase(const std::string& key);
  void unindexLocked(const std::string& key, const Entry& entry);
  void sleepFor(std::chrono::milliseconds d);

  Client& client_;
  InformerOptions options_;
  EventHandlers handlers_;
  std::map<std::string, IndexFunc> index_funcs_;

  mutable std::mutex mu_;
  std::map<std::string, Entry> items_;
  // index name -> value -> keys
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;
  std::string resource_version_;

  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> relists_{0};
  std::atomic<int64_t> watches_{0};
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::condition_variable synced_cv_;
  std::unique_ptr<net::CancelSource> cancel_;
  std::thread thread_;
};

}  // namespace su::kube
