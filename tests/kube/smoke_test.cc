// The shortest path through the client layer: the control plane's kubeconfig, a list, a write
// and a read, and a refusal for the unprivileged user.
#include <gtest/gtest.h>

#include "kube/kube_fixture.h"

namespace su::kube {
namespace {

using testing::ControlPlane;

TEST(Smoke, ListsNamespacesWritesAConfigMapAndIsRefusedAsTheUnprivilegedUser) {
  LoadOptions load;
  load.path = ControlPlane::shared().kubeconfig();
  auto config = loadKubeconfig(load);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->context, "admin");
  auto client = Client::create(*config);
  ASSERT_TRUE(client.ok()) << client.error().describe();

  auto namespaces = (*client)->list(kNamespaces, "");
  ASSERT_TRUE(namespaces.ok()) << namespaces.error().describe();
  bool has_default = false;
  for (const Json& ns : namespaces->items) has_default |= ns["metadata"]["name"] == "default";
  EXPECT_TRUE(has_default);

  std::string name = testing::uniqueName("smoke");
  auto created =
      (*client)->create(kConfigMaps, testing::configMap("default", name, {{"greeting", "hello"}}));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto read = (*client)->get(kConfigMaps, "default", name);
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ((*read)["data"]["greeting"], "hello");
  EXPECT_EQ((*read)["metadata"]["uid"], (*created)["metadata"]["uid"]);

  auto user = testing::clientFor(ControlPlane::shared(), "user");
  ASSERT_NE(user, nullptr);
  auto refused = user->get(kConfigMaps, "default", name);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kForbidden);
  EXPECT_EQ(refused.error().http_status, 403);
  EXPECT_EQ(refused.error().code, "Forbidden");
}

}  // namespace
}  // namespace su::kube
