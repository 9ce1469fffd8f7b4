// The client against simulators set to the other forms of every assumed point of the API, and the
// simulator's own promises (state across restarts, audit). Simulator only: these start their own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "contract_fixture.h"
#include "digicert/account_manager.h"
#include "net/http_client.h"

namespace su::digicert {
namespace {

using json::Json;
using testing::SimProcess;

ServiceUserSpec specNamed(const std::string& label) {
  ServiceUserSpec spec;
  spec.friendly_name = "variant " + label + " " + testing::uniqueSuffix();
  spec.email = "owner@example.com";
  spec.accounts = {"acct-variant"};
  spec.access = {{"Account Manager", {"manager"}}};
  return spec;
}

ClientOptions optionsFor(const SimProcess& sim) {
  ClientOptions options;
  options.base_url = sim.url();
  options.api_key = sim.apiKey();
  options.ca_pem = sim.caPem();
  options.timeout = std::chrono::seconds(10);
  options.backoff_base = std::chrono::milliseconds(50);
  return options;
}

class VariantTest : public ::testing::Test {
 protected:
  std::unique_ptr<AccountManager> client(const ClientOptions& options) {
    auto made = makeAccountManager(options, clock_);
    EXPECT_TRUE(made.ok());
    return made ? std::move(made).value() : nullptr;
  }
  SystemClock clock_;
};

TEST_F(VariantTest, EveryAlternativeShapeIsUnderstoodWhenTheSettingsMatch) {
  auto sim = SimProcess::start({"--token-field",       "token_id",
                                "--token-shape",       "object",
                                "--token-inner-field", "value",
                                "--user-wrapper",      "user",
                                "--list-shape",        "wrapped",
                                "--list-key",          "results",
                                "--offset-param",      "start",
                                "--limit-param",       "count",
                                "--max-page-size",     "2",
                                "--duplicate-status",  "400",
                                "--error-shape",       "array",
                                "--end-date-field",    "expiry_date",
                                "--disable-path",      "/user/{id}/deactivate",
                                "--enable-path",       "/user/{id}/activate",
                                "--update-method",     "PATCH"});
  ASSERT_NE(sim, nullptr);
  ClientOptions options = optionsFor(*sim);
  options.compat.token_fields = {"token_id"};
  options.compat.token_inner_fields = {"value"};
  options.compat.list_wrapper_keys = {"results"};
  options.compat.offset_param = "start";
  options.compat.limit_param = "count";
  options.compat.duplicate_statuses = {};
  options.compat.end_date_field = "expiry_date";
  options.compat.disable_path = "/user/{id}/deactivate";
  options.compat.enable_path = "/user/{id}/activate";
  options.compat.update_method = "PATCH";
  auto am = client(options);

  ServiceUserSpec spec = specNamed("alt");
  spec.end_date = dateOf(std::chrono::system_clock::now() + std::chrono::hours(24 * 9));
  auto created = am->createServiceUser(spec);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  testing::rememberToken(created->token);
  EXPECT_EQ(created->user.end_date, spec.end_date);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(am->createServiceUser(specNamed("alt")).ok());

  auto dup = am->createServiceUser(spec);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(dup.error().http_status, 400);
  auto all = am->listServiceUsers();
  ASSERT_TRUE(all.ok()) << all.error().describe();
  EXPECT_EQ(all->size(), 5u) << "three pages of at most two";
  spec.description = "patched";
  EXPECT_TRUE(am->updateServiceUser(created->user.id, spec).ok());
  EXPECT_TRUE(am->disableServiceUser(created->user.id).ok());
  EXPECT_EQ(am->getServiceUser(created->user.id)->status, UserStatus::kDisabled);
  EXPECT_TRUE(am->enableServiceUser(created->user.id).ok());
  EXPECT_EQ(am->getServiceUser(created->user.id)->description, "patched");
}

TEST_F(VariantTest, ServerThatCapsThePageSizeIsStillReadToTheEnd) {
  auto sim = SimProcess::start({"--max-page-size", "2"});
  ASSERT_NE(sim, nullptr);
  auto am = client(optionsFor(*sim));
  for (int i = 0; i < 5; ++i) {
    auto created = am->createServiceUser(specNamed("cap"));
    ASSERT_TRUE(created.ok());
    testing::rememberToken(created->token);
  }

  auto all = am->listServiceUsers();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
  EXPECT_EQ(sim->calls("GET /account/api/v1/user"), 4) << "2 + 2 + 1 + an empty page";
}

TEST_F(VariantTest, StateAndTokensSurviveASimulatorRestart) {
  auto sim = SimProcess::start({});
  ASSERT_NE(sim, nullptr);
  auto am = client(optionsFor(*sim));
  auto created = am->createServiceUser(specNamed("restart"));
  ASSERT_TRUE(created.ok());
  testing::rememberToken(created->token);
  sim->control("POST", "/control/clock", {{"offset_seconds", 3600}});

  sim->restart();
  auto got = am->getServiceUser(created->user.id);
  ASSERT_TRUE(got.ok()) << got.error().describe();
  EXPECT_EQ(got->friendly_name, created->user.friendly_name);
  ClientOptions as_user = optionsFor(*sim);
  as_user.api_key = created->token;
  EXPECT_TRUE(fetchCaller(as_user, clock_).ok()) << "the token still works after a restart";
  EXPECT_EQ(json::getInt(sim->control("GET", "/control/clock"), "offset_seconds"), 3600);
}

TEST_F(VariantTest, CallsAreAuditedUnderTheCallersFriendlyName) {
  auto sim = SimProcess::start({});
  ASSERT_NE(sim, nullptr);
  auto am = client(optionsFor(*sim));
  auto created = am->createServiceUser(specNamed("audit"));
  ASSERT_TRUE(created.ok());
  testing::rememberToken(created->token);
  ClientOptions as_user = optionsFor(*sim);
  as_user.api_key = created->token;
  ASSERT_TRUE(fetchCaller(as_user, clock_).ok());

  net::ClientConfig config;
  config.base_url = sim->url();
  config.tls.ca_pem = sim->caPem();
  auto http = net::HttpClient::create(config);
  ASSERT_TRUE(http.ok());
  std::string name = created->user.friendly_name;
  for (size_t at = name.find(' '); at != std::string::npos; at = name.find(' ')) {
    name.replace(at, 1, "%20");
  }
  net::Request request;
  request.target = "/account/api/v1/audit-log?user_name=" + name;
  request.headers = {{"x-api-key", sim->apiKey().reveal()}};
  auto response = http.value()->send(request);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200);
  auto entries = json::parse(response->body, "the audit log");
  ASSERT_TRUE(entries.ok() && entries->is_array());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0]["action"], "GET /account/api/v1/user/me");
  EXPECT_EQ((*entries)[0]["user_name"], created->user.friendly_name);
}

// The process-wide preload runs once per process, so this is the only test that calls it.
TEST_F(VariantTest, AClientWithoutACaBundleTrustsThePreloadedSystemRoots) {
  auto sim = SimProcess::start({});
  ASSERT_NE(sim, nullptr);
  setenv("SSL_CERT_FILE", "/nonexistent/roots.pem", 1);  // the argument below comes first
  net::ClientConfig config;
  config.base_url = sim->url();  // no CA bundle: the system roots decide
  net::Request request;
  request.target = "/account/api/v1/user/me";
  request.headers = {{"x-api-key", sim->apiKey().reveal()}};

  auto before = net::HttpClient::create(config);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before.value()->send(request).ok()) << "the simulator's CA is no system root";

  std::string bundle = su::testing::makeTempDir("roots") + "/system-roots.pem";
  std::ofstream(bundle) << sim->caPem();
  ASSERT_TRUE(net::preloadSystemRoots(bundle).ok());
  ASSERT_NE(std::getenv("SSL_CERT_FILE"), nullptr);
  EXPECT_EQ(std::string(std::getenv("SSL_CERT_FILE")), "/dev/null");

  auto after = net::HttpClient::create(config);
  ASSERT_TRUE(after.ok());
  auto response = after.value()->send(request);
  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response->status, 200);
}

}  // namespace
}  // namespace su::digicert
