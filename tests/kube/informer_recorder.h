// What an informer's handlers said, kept as a model of the objects they describe, so tests can
// compare it with the server.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kube/informer.h"

namespace su::kube::testing {

class HandlerRecorder {
 public:
  EventHandlers handlers() {
    EventHandlers h;
    h.on_add = [this](const std::string& key, const Json& object) { note("add", key, &object); };
    h.on_update = [this](const std::string& key, const Json&, const Json& object) {
      note("update", key, &object);
    };
    h.on_delete = [this](const std::string& key, const Json&) { note("delete", key, nullptr); };
    return h;
  }

  // The data of every object the handlers say exists.
  std::map<std::string, Json> model() const {
    std::lock_guard lock(mu_);
    return model_;
  }
  std::vector<std::string> log() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  bool saw(const std::string& entry) const {
    std::lock_guard lock(mu_);
    for (const auto& e : log_) {
      if (e == entry) return true;
    }
    return false;
  }
  Json dataOf(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = model_.find(key);
    return it == model_.end() ? Json() : it->second;
  }

 private:
  void note(const char* what, const std::string& key, const Json* object) {
    std::lock_guard lock(mu_);
    log_.push_back(std::string(what) + " " + key);
    if (object == nullptr) {
      model_.erase(key);
    } else {
      model_[key] = object->contains("data") ? (*object)["data"] : Json::object();
    }
  }

  mutable std::mutex mu_;
  std::map<std::string, Json> model_;
  std::vector<std::string> log_;
};

// The server's view of the same objects, in the model's shape.
inline std::map<std::string, Json> serverModel(Client& client, const std::string& ns,
                                               const std::string& label_selector = "") {
  ListOptions options;
  options.label_selector = label_selector;
  auto listed = client.listAll(kConfigMaps, ns, options);
  std::map<std::string, Json> out;
  if (!listed.ok()) return out;
  for (const Json& item : listed->items) {
    out[objectKey(item)] = item.contains("data") ? item["data"] : Json::object();
  }
  return out;
}

}  // namespace su::kube::testing
