// The REST client against the real API server: TLS and credentials, CRUD with preconditions,
// paging and selectors, patches, the status subresource, retries and Status decoding.
#include "kube/rest_client.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <thread>

#include "common/metrics.h"
#include "kube/kube_fixture.h"
#include "support/process.h"

namespace su::kube {
namespace {

using testing::adminClient;
using testing::clientFor;
using testing::configFor;
using testing::configMap;
using testing::ControlPlane;
using testing::uniqueName;

double requestCount(const std::string& verb, const std::string& resource, const std::string& code) {
  return metrics::defaultRegistry()
      .counter("kube_client_requests_total", "", {"verb", "resource", "code"})
      .labels({verb, resource, code})
      .value();
}

std::string sharedNamespace() {
  static std::string ns = testing::freshNamespace("rest");
  return ns;
}

TEST(RestClientTls, AuthenticatesWithAClientCertificate) {
  auto client = clientFor(ControlPlane::shared(), "admin");
  ASSERT_FALSE(client->config().client_cert_pem.empty());
  auto list = client->list(kNamespaces, "");
  ASSERT_TRUE(list.ok()) << list.error().describe();
}

TEST(RestClientTls, AuthenticatesWithABearerToken) {
  auto client = clientFor(ControlPlane::shared(), "admin-token");
  ASSERT_TRUE(client->config().client_cert_pem.empty());
  auto list = client->list(kNamespaces, "");
  ASSERT_TRUE(list.ok()) << list.error().describe();
}

TEST(RestClientTls, RefusesTheUnprivilegedUserWith403) {
  auto client = clientFor(ControlPlane::shared(), "user");
  auto list = client->list(kConfigMaps, "default");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().kind, ErrorKind::kForbidden);
  EXPECT_EQ(list.error().http_status, 403);
  EXPECT_NE(list.error().message.find("forbidden"), std::string::npos) << list.error().message;

  auto created = client->create(kConfigMaps, configMap("default", uniqueName("denied")));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind, ErrorKind::kForbidden);
}

TEST(RestClientTls, ReportsAWrongTokenAs401WithoutQuotingIt) {
  RestConfig config = configFor(ControlPlane::shared(), "admin-token");
  config.bearer_token = SecretString("wrong-token-value-0123456789");
  auto client = Client::create(config);
  ASSERT_TRUE(client.ok());
  auto list = (*client)->list(kNamespaces, "");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().kind, ErrorKind::kUnauthorized);
  EXPECT_EQ(list.error().describe().find("wrong-token-value"), std::string::npos);
}

TEST(RestClientTls, RejectsAServerNotSignedByTheConfiguredAuthority) {
  std::string dir = su::testing::makeTempDir("su-other-ca-");
  auto made = su::testing::runCommand(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other "
      "-days 1 -keyout " +
      dir + "/k.pem -out " + dir + "/c.pem");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  RestConfig config = configFor(ControlPlane::shared(), "admin");
  config.ca_pem = su::testing::readFile(dir + "/c.pem");
  su::testing::removeTree(dir);
  ClientOptions options;
  options.max_attempts = 1;
  auto client = Client::create(config, options);
  ASSERT_TRUE(client.ok());
  auto list = (*client)->list(kNamespaces, "");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().http_status, 0);
}

TEST(RestClientTls, ChecksTheServerNameAgainstTheCertificatesNames) {
  RestConfig config = configFor(ControlPlane::shared(), "admin");
  ClientOptions options;
  options.max_attempts = 1;

  config.tls_server_name = "kubernetes.default.svc";  // in the serving certificate
  auto listed = Client::create(config, options).value()->list(kNamespaces, "");
  EXPECT_TRUE(listed.ok()) << listed.error().describe();

  config.tls_server_name = "somewhere-else.example";
  auto refused = Client::create(config, options).value()->list(kNamespaces, "");
  EXPECT_FALSE(refused.ok());

  config.tls_server_name.clear();
  std::string port = config.server.substr(config.server.rfind(':'));
  config.server = "https://localhost" + port;  // a DNS name in the certificate
  auto by_name = Client::create(config, options).value()->list(kNamespaces, "");
  EXPECT_TRUE(by_name.ok()) << by_name.error().describe();
}

TEST(RestClient, CreatesReadsUpdatesAndRefusesAStaleUpdateWith409) {
  Client& client = adminClient();
  std::string ns = sharedNamespace();
  std::string name = uniqueName("crud");

  auto created = client.create(kConfigMaps, configMap(ns, name, {{"v", "1"}}));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto again = client.create(kConfigMaps, configMap(ns, name));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(again.error().code, "AlreadyExists");

  Json first = *created;
  first["data"]["v"] = "2";
  auto updated = client.update(kConfigMaps, first);
  ASSERT_TRUE(updated.ok()) << updated.error().describe();
  EXPECT_EQ((*updated)["data"]["v"], "2");

  Json stale = *created;  // still carries the first resourceVersion
  stale["data"]["v"] = "stale";
  auto conflict = client.update(kConfigMaps, stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(conflict.error().http_status, 409);
  EXPECT_EQ(conflict.error().code, "Conflict");

  auto read = client.get(kConfigMaps, ns, name);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ((*read)["data"]["v"], "2");

  auto missing = client.get(kConfigMaps, ns, name + "-absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(missing.error().code, "NotFound");
}

TEST(RestClient, PagesThroughMoreObjectsThanOnePage) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("paging");
  for (int i = 0; i < 120; ++i) {
    auto created = client.create(kConfigMaps, configMap(ns, "item-" + std::to_string(i)));
    ASSERT_TRUE(created.ok()) << created.error().describe();
  }
  ListOptions options;
  options.limit = 50;
  auto page = client.list(kConfigMaps, ns, options);
  ASSERT_TRUE(page.ok()) << page.error().describe();
  EXPECT_EQ(page->items.size(), 50u);
  EXPECT_FALSE(page->continue_token.empty());
  EXPECT_EQ(page->items.front()["kind"], "ConfigMap");

  double before = requestCount("list", "configmaps", "200");
  auto all = client.listAll(kConfigMaps, ns, options);
  ASSERT_TRUE(all.ok()) << all.error().describe();
  std::set<std::string> names;
  for (const Json& item : all->items) names.insert(item["metadata"]["name"]);
  size_t mine = 0;
  for (const std::string& n : names) mine += n.rfind("item-", 0) == 0;
  EXPECT_EQ(mine, 120u);
  EXPECT_EQ(requestCount("list", "configmaps", "200") - before, 3.0);  // 50 + 50 + 21
  EXPECT_FALSE(all->resource_version.empty());
}

TEST(RestClient, HandsOverEveryListedItemAsItsPageArrives) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("paging-each");
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(client.create(kConfigMaps, configMap(ns, "each-" + std::to_string(i))).ok());
  }
  ListOptions options;
  options.limit = 25;
  std::set<std::string> names;
  double before = requestCount("list", "configmaps", "200");
  auto version = client.listEach(kConfigMaps, ns, options, [&](Json&& item) {
    names.insert(item["metadata"]["name"].get<std::string>());
  });
  ASSERT_TRUE(version.ok()) << version.error().describe();
  EXPECT_FALSE(version->empty());
  size_t mine = 0;
  for (const std::string& n : names) mine += n.rfind("each-", 0) == 0;
  EXPECT_EQ(mine, 60u);
  EXPECT_EQ(requestCount("list", "configmaps", "200") - before, 3.0);  // 25 + 25 + 10
}

TEST(RestClient, SelectsByLabelAndByField) {
  Client& client = adminClient();
  std::string ns = testing::freshNamespace("select");
  for (int i = 0; i < 5; ++i) {
    Json labels = {{"tier", i < 3 ? "front" : "back"}};
    ASSERT_TRUE(
        client.create(kConfigMaps, configMap(ns, "s-" + std::to_string(i), {}, labels)).ok());
  }
  ListOptions by_label;
  by_label.label_selector = "tier=front";
  auto front = client.list(kConfigMaps, ns, by_label);
  ASSERT_TRUE(front.ok()) << front.error().describe();
  EXPECT_EQ(front->items.size(), 3u);

  ListOptions by_set;
  by_set.label_selector = "tier in (front,back),tier!=front";
  auto back = client.list(kConfigMaps, ns, by_set);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->items.size(), 2u);

  ListOptions by_field;
  by_field.field_selector = "metadata.name=s-4";
  auto one = client.list(kConfigMaps, ns, by_field);
  ASSERT_TRUE(one.ok()) << one.error().describe();
  ASSERT_EQ(one->items.size(), 1u);
  EXPECT_EQ(one->items[0]["metadata"]["name"], "s-4");
}

TEST(RestClient, AppliesMergePatchesAndJsonPatches) {
  Client& client = adminClient();
  std::string ns = sharedNamespace();
  std::string name = uniqueName("patch");
  ASSERT_TRUE(client.create(kConfigMaps, configMap(ns, name, {{"a", "1"}, {"b", "2"}})).ok());

  auto merged = client.patch(kConfigMaps, ns, name, PatchType::kMerge,
                             {{"data", {{"a", nullptr}, {"c", "3"}}}});
  ASSERT_TRUE(merged.ok()) << merged.error().describe();
  EXPECT_EQ((*merged)["data"], Json({{"b", "2"}, {"c", "3"}}));

  Json ops = Json::array({{{"op", "test"}, {"path", "/data/b"}, {"value", "2"}},
                          {{"op", "replace"}, {"path", "/data/b"}, {"value", "20"}}});
  auto patched = client.patch(kConfigMaps, ns, name, PatchType::kJsonPatch, ops);
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  EXPECT_EQ((*patched)["data"]["b"], "20");

  // The same test op now fails: the server refuses the whole patch.
  auto refused = client.patch(kConfigMaps, ns, name, PatchType::kJsonPatch, ops);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kInvalid);
}

TEST(RestClient, DeletesOnlyTheIncarnationItsPreconditionsName) {
  Client& client = adminClient();
  std::string ns = sharedNamespace();
  std::string name = uniqueName("delete");
  auto created = client.create(kConfigMaps, configMap(ns, name));
  ASSERT_TRUE(created.ok());

  DeleteOptions wrong_uid;
  wrong_uid.uid = "00000000-0000-0000-0000-000000000000";
  Status refused = client.remove(kConfigMaps, ns, name, wrong_uid);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kConflict);

  DeleteOptions stale_version;
  stale_version.resource_version = "1";
  EXPECT_EQ(client.remove(kConfigMaps, ns, name, stale_version).error().kind, ErrorKind::kConflict);

  DeleteOptions exact;
  exact.uid = (*created)["metadata"]["uid"];
  exact.resource_version = (*created)["metadata"]["resourceVersion"];
  exact.propagation_policy = "Background";  // no garbage collector runs here to finish Foreground
  Status removed = client.remove(kConfigMaps, ns, name, exact);
  ASSERT_TRUE(removed.ok()) << removed.error().describe();
  EXPECT_EQ(client.get(kConfigMaps, ns, name).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(client.remove(kConfigMaps, ns, name).error().kind, ErrorKind::kNotFound);
}

// A cluster-scoped CRD with a status subresource, created through the client itself.
const Resource kWidgets{"kube-test.serviceuser.dev", "v1", "widgets", true};

void ensureWidgetDefinition(Client& client) {
  Json schema = {
      {"type", "object"},
      {"properties",
       {{"spec", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}},
        {"status", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}};
  Json crd = {{"apiVersion", "apiextensions.k8s.io/v1"},
              {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", "widgets.kube-test.serviceuser.dev"}}},
              {"spec",
               {{"group", "kube-test.serviceuser.dev"},
                {"scope", "Namespaced"},
                {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
                {"versions", Json::array({{{"name", "v1"},
                                           {"served", true},
                                           {"storage", true},
                                           {"subresources", {{"status", Json::object()}}},
                                           {"schema", {{"openAPIV3Schema", schema}}}}})}}}};
  auto created = client.create(kCustomResourceDefinitions, crd);
  ASSERT_TRUE(created.ok() || created.error().kind == ErrorKind::kConflict)
      << created.error().describe();
  ASSERT_TRUE(testing::eventually([&] { return client.list(kWidgets, "default").ok(); }))
      << "the widget CRD was never served";
}

TEST(RestClient, WritesStatusOnlyThroughTheStatusSubresource) {
  Client& client = adminClient();
  ensureWidgetDefinition(client);
  std::string ns = sharedNamespace();
  std::string name = uniqueName("widget");
  Json widget = {{"apiVersion", "kube-test.serviceuser.dev/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"name", name}, {"namespace", ns}}},
                 {"spec", {{"size", 1}}},
                 {"status", {{"phase", "ignored-on-create"}}}};
  auto created = client.create(kWidgets, widget);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_FALSE(created->contains("status"));

  Json with_status = *created;
  with_status["status"] = {{"phase", "Ready"}};
  with_status["spec"]["size"] = 99;  // ignored by the status subresource
  auto status = client.updateStatus(kWidgets, with_status);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ((*status)["status"]["phase"], "Ready");
  EXPECT_EQ((*status)["spec"]["size"], 1);

  auto stale = client.updateStatus(kWidgets, with_status);  // the old resourceVersion
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, ErrorKind::kConflict);

  auto patched = client.patch(kWidgets, ns, name, PatchType::kMerge,
                              {{"status", {{"phase", "Patched"}}}}, true);
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  EXPECT_EQ((*patched)["status"]["phase"], "Patched");
}

TEST(RestClientRetries, RepeatsOnlyRequestsThatAreSafeToRepeat) {
  RestConfig config = configFor(ControlPlane::shared(), "admin-token");
  config.server = "https://127.0.0.1:1";  // nothing listens: every attempt fails at once
  ClientOptions options;
  options.max_attempts = 3;
  options.backoff_base = std::chrono::milliseconds(1);
  auto client = Client::create(config, options).value();
  const Resource probes{"", "v1", "retryprobes", true};

  double before = requestCount("get", "retryprobes", "error");
  auto got = client->get(probes, "ns", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::kTransient);
  EXPECT_EQ(requestCount("get", "retryprobes", "error") - before, 3.0);

  before = requestCount("create", "retryprobes", "error");
  auto created = client->create(probes, configMap("ns", "x"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(requestCount("create", "retryprobes", "error") - before, 1.0);

  before = requestCount("update", "retryprobes", "error");
  EXPECT_FALSE(client->update(probes, configMap("ns", "x")).ok());  // no resourceVersion
  EXPECT_EQ(requestCount("update", "retryprobes", "error") - before, 1.0);
  Json versioned = configMap("ns", "x");
  versioned["metadata"]["resourceVersion"] = "5";
  EXPECT_FALSE(client->update(probes, versioned).ok());
  EXPECT_EQ(requestCount("update", "retryprobes", "error") - before, 4.0);

  before = requestCount("delete", "retryprobes", "error");
  EXPECT_FALSE(client->remove(probes, "ns", "x").ok());
  DeleteOptions precondition;
  precondition.uid = "u";
  EXPECT_FALSE(client->remove(probes, "ns", "x", precondition).ok());
  EXPECT_EQ(requestCount("delete", "retryprobes", "error") - before, 4.0);

  before = requestCount("patch", "retryprobes", "error");
  EXPECT_FALSE(client->patch(probes, "ns", "x", PatchType::kMerge, Json::object()).ok());
  EXPECT_EQ(requestCount("patch", "retryprobes", "error") - before, 1.0);
}

// An aggregated API whose backing service does not exist: the real API server answers 503.
TEST(RestClientRetries, RetriesA503FromTheApiServerOnlyForRepeatableRequests) {
  const Resource api_services{"apiregistration.k8s.io", "v1", "apiservices", false};
  const std::string group = "unavailable.kube-test.serviceuser.dev";
  Json api_service = {{"apiVersion", "apiregistration.k8s.io/v1"},
                      {"kind", "APIService"},
                      {"metadata", {{"name", "v1." + group}}},
                      {"spec",
                       {{"group", group},
                        {"version", "v1"},
                        {"service", {{"namespace", "default"}, {"name", "nothing-here"}}},
                        {"groupPriorityMinimum", 100},
                        {"versionPriority", 100},
                        {"insecureSkipTLSVerify", true}}}};
  ASSERT_TRUE(adminClient().create(api_services, api_service).ok());
  ClientOptions options;
  options.max_attempts = 3;
  options.backoff_base = std::chrono::milliseconds(10);
  auto client = clientFor(ControlPlane::shared(), "admin", options);
  const Resource things{group, "v1", "things", true};

  double before = requestCount("get", things.displayName(), "503");
  Result<Json> got = makeError(ErrorKind::kInternal, "not sent");
  ASSERT_TRUE(testing::eventually([&] {
    got = client->get(things, "default", "x");
    return !got.ok() && got.error().http_status == 503;
  })) << got.error().describe();
  EXPECT_EQ(got.error().kind, ErrorKind::kTransient);
  double gets = requestCount("get", things.displayName(), "503") - before;
  EXPECT_EQ(std::fmod(gets, 3.0), 0.0) << gets;  // every call made all three attempts
  EXPECT_GE(gets, 3.0);

  before = requestCount("create", things.displayName(), "503");
  auto created = client->create(things, {{"metadata", {{"name", "x"}, {"namespace", "default"}}}});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().http_status, 503);
  EXPECT_EQ(requestCount("create", things.displayName(), "503") - before, 1.0);

  EXPECT_TRUE(adminClient().remove(api_services, "", "v1." + group).ok());
}

TEST(RestClientRetries, WaitsForTheClientSideRateLimit) {
  RestConfig config = configFor(ControlPlane::shared(), "admin");
  config.qps = 10;
  config.burst = 1;
  auto client = Client::create(config).value();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(client->get(kNamespaces, "", "default").ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(450));
}

TEST(StatusDecoding, TurnsAKubernetesStatusIntoAnError) {
  net::Response response;
  response.status = 429;
  response.headers["retry-after"] = "7";
  response.body = R"({"kind":"Status","apiVersion":"v1","status":"Failure",
      "message":"too many requests","reason":"TooManyRequests","code":429,
      "details":{"retryAfterSeconds":3}})";
  Error error = errorFromResponse(response, "list configmaps");
  EXPECT_EQ(error.kind, ErrorKind::kTransient);
  EXPECT_EQ(error.http_status, 429);
  EXPECT_EQ(error.code, "TooManyRequests");
  EXPECT_EQ(error.message, "list configmaps: too many requests");
  ASSERT_TRUE(error.retry_after.has_value());
  EXPECT_EQ(*error.retry_after, std::chrono::seconds(7));  // the header wins over details

  response.headers.clear();
  EXPECT_EQ(*errorFromResponse(response, "x").retry_after, std::chrono::seconds(3));
}

TEST(StatusDecoding, SurvivesBodiesThatAreNotAStatus) {
  const std::pair<int, std::string> cases[] = {
      {502, "<html>bad gateway</html>"},
      {500, R"({"kind":"Status","message":)"},
      {404, R"({"kind":"Status","message":42,"reason":["x"]})"},
      {400, ""},
      {418, R"([1,2,3])"},
  };
  for (const auto& [status, body] : cases) {
    net::Response response;
    response.status = status;
    response.body = body;
    Error error = errorFromResponse(response, "get things");
    EXPECT_EQ(error.http_status, status);
    EXPECT_EQ(error.message.rfind("get things: ", 0), 0u) << error.message;
  }
}

}  // namespace
}  // namespace su::kube
