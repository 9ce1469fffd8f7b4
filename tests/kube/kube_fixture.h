// Helpers shared by the kube tests: clients for the control plane's contexts, unique names,
// and polling with a deadline.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "kube/kubeconfig.h"
#include "kube/rest_client.h"
#include "support/control_plane.h"

namespace su::kube::testing {

using su::testing::ControlPlane;

// The kubeconfig context of a control plane loaded into a RestConfig; fails the test if not.
RestConfig configFor(const ControlPlane& cp, const std::string& context = "admin");
std::unique_ptr<Client> clientFor(const ControlPlane& cp, const std::string& context = "admin",
                                  ClientOptions options = {});
// The shared control plane's admin client.
Client& adminClient();

// A name unique within this test binary run, usable as a Kubernetes object name.
std::string uniqueName(const std::string& prefix);
// A fresh namespace on the shared control plane.
std::string freshNamespace(const std::string& prefix);

// Polls `done` every 20 ms until it holds or `timeout` passes; returns its last value.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

Json configMap(const std::string& ns, const std::string& name, const Json& data = Json::object(),
               const Json& labels = Json::object());

}  // namespace su::kube::testing
