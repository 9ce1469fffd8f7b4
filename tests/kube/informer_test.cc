// Informers against the shared API server: what handlers see, the cache and its indexes.
#include "kube/informer.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <iostream>

#include "common/metrics.h"
#include "kube/informer_recorder.h"
#include "kube/kube_fixture.h"
#include "pki/pem.h"

namespace su::kube {
namespace {

using namespace std::chrono_literals;
using testing::adminClient;
using testing::configMap;
using testing::eventually;

InformerOptions configMapsIn(const std::string& ns) {
  InformerOptions options;
  options.resource = kConfigMaps;
  options.ns = ns;
  options.backoff_base = 100ms;
  options.backoff_cap = 1s;
  return options;
}

TEST(Informer, HandsOutAddsUpdatesAndDeletesAsKeys) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("inf");
  ASSERT_TRUE(client.create(kConfigMaps, configMap(ns, "early", {{"v", "0"}})).ok());

  testing::HandlerRecorder recorder;
  Informer informer(client, configMapsIn(ns));
  informer.setHandlers(recorder.handlers());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(20s));
  EXPECT_TRUE(recorder.saw("add " + ns + "/early"));
  ASSERT_NE(informer.get(ns + "/early"), nullptr);

  auto created = client.create(kConfigMaps, configMap(ns, "late", {{"v", "1"}}));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(eventually([&] { return recorder.saw("add " + ns + "/late"); }));

  Json changed = *created;
  changed["data"]["v"] = "2";
  ASSERT_TRUE(client.update(kConfigMaps, changed).ok());
  ASSERT_TRUE(eventually([&] { return recorder.dataOf(ns + "/late") == Json({{"v", "2"}}); }));
  EXPECT_TRUE(recorder.saw("update " + ns + "/late"));

  ASSERT_TRUE(client.remove(kConfigMaps, ns, "early").ok());
  ASSERT_TRUE(eventually([&] { return recorder.saw("delete " + ns + "/early"); }));
  EXPECT_EQ(informer.get(ns + "/early"), nullptr);
  EXPECT_EQ(informer.keys(), std::vector<std::string>{ns + "/late"});
  EXPECT_EQ(recorder.model(), testing::serverModel(client, ns));
}

TEST(Informer, FiltersByLabelIndexesByOwnerAndTransformsBeforeCaching) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("inf-idx");
  Json owner_ref = Json::array({{{"apiVersion", "v1"},
                                 {"kind", "ConfigMap"},
                                 {"name", "owner"},
                                 {"uid", "11111111-2222-3333-4444-555555555555"}}});
  Json owned = configMap(ns, "owned", {{"secret", "value"}}, {{"managed", "yes"}});
  owned["metadata"]["ownerReferences"] = owner_ref;
  ASSERT_TRUE(client.create(kConfigMaps, owned).ok());
  ASSERT_TRUE(client.create(kConfigMaps, configMap(ns, "plain", {}, {{"managed", "yes"}})).ok());
  ASSERT_TRUE(client.create(kConfigMaps, configMap(ns, "foreign", {}, {{"managed", "no"}})).ok());

  InformerOptions options = configMapsIn(ns);
  options.label_selector = "managed=yes";
  options.transform = [](Json& object) {
    stripManagedFields(object);
    if (object.contains("data"))
      object["data"] = {{"hashed", std::to_string(object["data"].dump().size())}};
  };
  Informer informer(client, options);
  informer.addIndex(kOwnerUidIndex, ownerUids);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(20s));

  auto keys = informer.keys();
  EXPECT_EQ(keys, (std::vector<std::string>{ns + "/owned", ns + "/plain"}));
  auto by_owner = informer.byIndex(kOwnerUidIndex, "11111111-2222-3333-4444-555555555555");
  ASSERT_EQ(by_owner.size(), 1u);
  EXPECT_EQ((*by_owner[0])["metadata"]["name"], "owned");
  EXPECT_FALSE((*by_owner[0])["metadata"].contains("managedFields"));
  EXPECT_FALSE((*by_owner[0])["data"].contains("secret"));
  EXPECT_EQ(informer.byIndex(kNamespaceIndex, ns).size(), 2u);

  // Dropping the owner reference moves the object out of that index entry.
  ASSERT_TRUE(client
                  .patch(kConfigMaps, ns, "owned", PatchType::kMerge,
                         {{"metadata", {{"ownerReferences", nullptr}}}})
                  .ok());
  ASSERT_TRUE(eventually([&] {
    return informer.byIndex(kOwnerUidIndex, "11111111-2222-3333-4444-555555555555").empty();
  }));
}

TEST(Informer, ResumesFromItsResourceVersionWhenTheServerEndsTheWatch) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("inf-resume");
  testing::HandlerRecorder recorder;
  InformerOptions options = configMapsIn(ns);
  options.watch_timeout = 1s;
  Informer informer(client, options);
  informer.setHandlers(recorder.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(20s));

  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(client.create(kConfigMaps, configMap(ns, "r" + std::to_string(i))).ok());
    std::this_thread::sleep_for(400ms);
  }
  ASSERT_TRUE(eventually([&] { return recorder.model() == testing::serverModel(client, ns); }));
  EXPECT_GE(informer.watchCount(), 3);
  EXPECT_EQ(informer.relistCount(), 1);  // resumed, never listed again
  for (const auto& entry : recorder.log()) EXPECT_EQ(entry.rfind("add ", 0), 0u) << entry;
  EXPECT_EQ(recorder.log().size(), 8u);  // no duplicates from resuming
}

// Heap in use by the whole process; other threads add noise of kilobytes, not megabytes.
int64_t heapInUse() { return static_cast<int64_t>(mallinfo2().uordblks); }

int64_t cacheBytes(Client& client, const std::string& ns, TransformFunc transform,
                   bool compact = false) {
  int64_t before = heapInUse();
  InformerOptions options;
  options.resource = kSecrets;
  options.ns = ns;
  options.label_selector = "serviceuser.dev/managed=true";
  options.transform = std::move(transform);
  options.compact = compact;
  Informer informer(client, options);
  informer.start();
  EXPECT_TRUE(informer.waitForSync(30s));
  EXPECT_EQ(informer.keys().size(), 300u);
  return heapInUse() - before;
}

TEST(Informer, KeepsTransformedSecretsInAFractionOfTheMemory) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("inf-mem");
  std::string value = pki::base64Encode(std::string(1024, 'x'));
  for (int i = 0; i < 300; ++i) {
    Json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata",
                    {{"name", "s" + std::to_string(i)},
                     {"namespace", ns},
                     {"labels", {{"serviceuser.dev/managed", "true"}}}}},
                   {"data", {{"token", value}, {"ca.crt", value}}}};
    ASSERT_TRUE(client.create(kSecrets, secret).ok());
  }
  auto digest = [](Json& secret) {
    stripManagedFields(secret);
    Json digests = Json::object();
    for (auto& [key, data] : secret["data"].items()) {
      digests[key] = std::to_string(std::hash<std::string>{}(data.get<std::string>()));
    }
    secret["data"] = digests;
  };
  int64_t whole = cacheBytes(client, ns, nullptr);
  int64_t lean = cacheBytes(client, ns, digest);
  int64_t compact = cacheBytes(client, ns, digest, true);
  std::cout << "[ measure  ] 300 Secrets cached: " << whole / 1024 << " KiB whole, " << lean / 1024
            << " KiB transformed, " << compact / 1024 << " KiB transformed and compact\n";
  EXPECT_GT(whole, 0);
  EXPECT_LT(lean * 2, whole);
  EXPECT_LT(compact * 2, lean);
}

TEST(Informer, ACompactCacheServesTheSameObjectsIndexesAndEvents) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("inf-compact");
  Json owned = configMap(ns, "owned", {{"v", "1"}});
  owned["metadata"]["ownerReferences"] = Json::array(
      {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "o"}, {"uid", "owner-uid-1"}}});
  ASSERT_TRUE(client.create(kConfigMaps, owned).ok());

  testing::HandlerRecorder recorder;
  InformerOptions options = configMapsIn(ns);
  options.compact = true;
  options.transform = stripManagedFields;
  Informer informer(client, options);
  informer.addIndex(kOwnerUidIndex, ownerUids);
  informer.setHandlers(recorder.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(20s));

  auto live = client.get(kConfigMaps, ns, "owned");
  ASSERT_TRUE(live.ok());
  stripManagedFields(*live);
  ASSERT_NE(informer.get(ns + "/owned"), nullptr);
  EXPECT_EQ(*informer.get(ns + "/owned"), *live);
  ASSERT_EQ(informer.byIndex(kOwnerUidIndex, "owner-uid-1").size(), 1u);

  ASSERT_TRUE(client
                  .patch(kConfigMaps, ns, "owned", PatchType::kMerge,
                         {{"data", {{"v", "2"}}}, {"metadata", {{"ownerReferences", nullptr}}}})
                  .ok());
  ASSERT_TRUE(eventually([&] { return recorder.dataOf(ns + "/owned") == Json({{"v", "2"}}); }));
  EXPECT_TRUE(recorder.saw("update " + ns + "/owned"));
  EXPECT_TRUE(informer.byIndex(kOwnerUidIndex, "owner-uid-1").empty());
  EXPECT_EQ((*informer.get(ns + "/owned"))["data"]["v"], "2");

  ASSERT_TRUE(client.remove(kConfigMaps, ns, "owned").ok());
  ASSERT_TRUE(eventually([&] { return recorder.saw("delete " + ns + "/owned"); }));
  EXPECT_EQ(informer.get(ns + "/owned"), nullptr);
  EXPECT_EQ(recorder.model(), testing::serverModel(client, ns));
}

TEST(Informer, ListsInPagesWhenThereAreMoreObjectsThanOnePage) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("inf-pages");
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(client.create(kConfigMaps, configMap(ns, "p" + std::to_string(i))).ok());
  }
  auto& requests = metrics::defaultRegistry().counter("kube_client_requests_total", "",
                                                      {"verb", "resource", "code"});
  double before = requests.labels({"list", "configmaps", "200"}).value();
  InformerOptions options = configMapsIn(ns);
  options.page_size = 50;
  Informer informer(client, options);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(20s));
  EXPECT_EQ(informer.keys().size(), 120u);
  EXPECT_EQ(requests.labels({"list", "configmaps", "200"}).value() - before, 3.0);
}

TEST(Informer, StopsPromptlyWithAWatchOpen) {
  Informer informer(adminClient(), configMapsIn("default"));
  informer.start();
  ASSERT_TRUE(informer.waitForSync(20s));
  std::this_thread::sleep_for(200ms);  // the watch is open now
  auto start = std::chrono::steady_clock::now();
  informer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace su::kube
