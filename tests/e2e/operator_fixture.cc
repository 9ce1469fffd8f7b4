#include "e2e/operator_fixture.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pki/pem.h"
#include "serviceuser/api_types.h"
#include "serviceuser/naming.h"

namespace su::e2e {
namespace {

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out +=
        prefix + text.substr(start, nl == std::string::npos ? std::string::npos : nl - start + 1);
    if (nl == std::string::npos) {
      out += "\n";
      break;
    }
    start = nl + 1;
  }
  return out;
}

// The line of `text` holding `token`, with the token masked, for a failure message.
std::string lineAround(const std::string& text, const std::string& token) {
  size_t at = text.find(token);
  if (at == std::string::npos) return "";
  size_t start = text.rfind('\n', at);
  size_t end = text.find('\n', at);
  std::string line = text.substr(start == std::string::npos ? 0 : start + 1,
                                 end == std::string::npos ? std::string::npos : end - start - 1);
  for (size_t p = line.find(token); p != std::string::npos; p = line.find(token, p)) {
    line.replace(p, token.size(), "<token>");
  }
  return line;
}

}  // namespace

std::string operatorBinary() { return SU_OPERATOR_BINARY; }

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

void OperatorTest::SetUp() {
  ns_ = su::testing::createNamespace(cp(), "e2e");
  ASSERT_FALSE(ns_.empty()) << "cannot create a namespace";
  dir_ = su::testing::makeTempDir("su-e2e-");
  sim_ = su::testing::SimProcess::start({"--api-key", "e2e-admin-key"}, dir_ + "/sim");
  ASSERT_TRUE(sim_) << "cannot start digicert-sim";
  kubectl("create secret generic digicert-admin --from-literal=api-key=e2e-admin-key");
  apply(
      "apiVersion: identity.serviceuser.dev/v1alpha1\nkind: DigiCertIssuer\n"
      "metadata: {name: digicert}\nspec:\n  url: " +
      sim_->url() + "\n  apiKeySecretRef: {name: digicert-admin, key: api-key}\n  caBundle: |\n" +
      indent(sim_->caPem(), "    "));
}

void OperatorTest::TearDown() {
  stopOperator();
  // No token seen in this test may appear in the operator's logs, Events or status.
  std::string logs;  // every operator process's log in the test's folder
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() == ".log") logs += su::testing::readFile(entry.path().string());
  }
  std::string events = kubectl("get events.events.k8s.io -o json", false);
  std::string status = kubectl("get serviceusers -o json", false);
  for (const std::string& token : tokens_) {
    if (token.empty()) continue;
    EXPECT_EQ(logs.find(token), std::string::npos)
        << "a token reached the operator's log: " << lineAround(logs, token);
    EXPECT_EQ(events.find(token), std::string::npos)
        << "a token reached an Event: " << lineAround(events, token);
    EXPECT_EQ(status.find(token), std::string::npos)
        << "a token reached a status: " << lineAround(status, token);
  }
  sim_.reset();
  if (!HasFailure()) su::testing::removeTree(dir_);
}

std::vector<std::string> OperatorTest::operatorArgv(const std::string& metrics_address,
                                                    const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {operatorBinary(),
                                   "--kubeconfig",
                                   cp().kubeconfig(),
                                   "--namespace",
                                   ns_,
                                   "--metrics-bind-address",
                                   metrics_address,
                                   "--health-probe-bind-address",
                                   "0",
                                   "--log-level",
                                   "debug"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

void OperatorTest::startOperator(std::vector<std::string> extra) {
  operator_flags_ = extra;
  metrics_port_ = freePort();
  su::testing::Process::Options options;
  options.argv = operatorArgv("127.0.0.1:" + std::to_string(metrics_port_), extra);
  options.stderr_path = dir_ + "/operator-" + std::to_string(++operator_runs_) + ".log";
  operator_ = std::make_unique<su::testing::Process>(options);
  std::string error;
  ASSERT_TRUE(operator_->start(&error)) << error;
}

void OperatorTest::killOperator() {
  if (!operator_) return;
  operator_->signal(SIGKILL);
  operator_->wait(std::chrono::seconds(10));
  operator_.reset();
}

void OperatorTest::stopOperator() {
  if (!operator_) return;
  operator_->stop(std::chrono::seconds(20));
  operator_.reset();
}

void OperatorTest::restartOperator(std::vector<std::string> extra) {
  stopOperator();
  startOperator(extra);
}

std::string OperatorTest::kubectl(const std::string& args, bool must) {
  auto r = su::testing::runCommand(cp().kubectl() + " -n " + ns_ + " " + args);
  if (must) {
    EXPECT_EQ(r.exit_code, 0) << "kubectl " << args << ":\n" << r.output;
  }
  return r.output;
}

void OperatorTest::apply(const std::string& yaml) {
  std::string path = dir_ + "/apply.yaml";
  std::ofstream(path) << yaml;
  kubectl("apply -f " + path);
}

Json OperatorTest::get(const std::string& kind, const std::string& name) {
  auto r = su::testing::runCommand(cp().kubectl() + " -n " + ns_ + " get " + kind + " " + name +
                                   " -o json 2>/dev/null");
  if (r.exit_code != 0) return nullptr;
  auto parsed = json::parse(r.output, "kubectl output");
  return parsed ? *parsed : Json(nullptr);
}

bool OperatorTest::exists(const std::string& kind, const std::string& name) {
  return !get(kind, name).is_null();
}

std::string OperatorTest::serviceUser(const std::string& name, const std::string& extra) const {
  return "apiVersion: identity.serviceuser.dev/v1alpha1\nkind: ServiceUser\n"
         "metadata: {name: " +
         name +
         "}\nspec:\n"
         "  issuerRef: {name: digicert}\n"
         "  email: platform@example.com\n"
         "  accounts: [\"acct-1\"]\n"
         "  access: [{manager: Software Trust, roles: [signer]}]\n"
         "  secret: {name: " +
         name + "-token}\n" + extra;
}

Json OperatorTest::waitReady(const std::string& name, std::chrono::seconds timeout) {
  Json last;
  bool ok = su::testing::eventually(
      [&] {
        last = get("serviceuser", name);
        if (last.is_null()) return false;
        int64_t gen = json::at(last, {"metadata", "generation"})->get<int64_t>();
        const Json* conditions = json::at(last, {"status", "conditions"});
        if (conditions == nullptr) return false;
        for (const Json& c : *conditions) {
          if (json::getString(c, "type") == "Ready" && json::getString(c, "status") == "True" &&
              json::getInt(c, "observedGeneration").value_or(0) == gen) {
            return !json::find(last["status"], "pending");
          }
        }
        return false;
      },
      timeout, std::chrono::milliseconds(200));
  EXPECT_TRUE(ok) << name << " did not become ready: " << json::dump(last);
  return last;
}

std::string OperatorTest::conditionReason(const Json& su, const std::string& type) {
  const Json* conditions = json::at(su, {"status", "conditions"});
  if (conditions == nullptr) return "";
  for (const Json& c : *conditions) {
    if (json::getString(c, "type") == type) return json::getString(c, "reason").value_or("");
  }
  return "";
}

std::string OperatorTest::secretValue(const std::string& secret, const std::string& key) {
  Json s = get("secret", secret);
  std::string encoded = json::stringAt(s, {"data", key});
  auto decoded = pki::base64Decode(encoded);
  std::string value = decoded ? decoded.value() : "";
  if (key == "token") remember(value);
  return value;
}

std::string OperatorTest::resourceVersion(const std::string& kind, const std::string& name) {
  return json::stringAt(get(kind, name), {"metadata", "resourceVersion"});
}

std::string OperatorTest::identityPrefix(const std::string& name) {
  auto known = bases_.find(name);
  if (known != bases_.end()) return known->second + "-r";
  auto su = serviceuser::parseServiceUser(get("serviceuser", name));
  EXPECT_TRUE(su.ok()) << "no ServiceUser " << name;
  if (!su) return name + "-unknown-r";
  bases_[name] = serviceuser::friendlyNameBase(*su);
  return bases_[name] + "-r";
}

std::string OperatorTest::identityName(const std::string& name, int64_t revision) {
  return identityPrefix(name) + std::to_string(revision);
}

std::vector<Json> OperatorTest::remoteUsers(const std::string& prefix) {
  std::vector<Json> out;
  Json state = sim_->state();
  const Json* users = json::find(state, "users");
  if (users == nullptr) return out;
  for (const Json& u : *users) {
    if (json::getString(u, "friendly_name").value_or("").rfind(prefix, 0) == 0) out.push_back(u);
  }
  return out;
}

std::vector<Json> OperatorTest::activeRemoteUsers(const std::string& prefix) {
  std::vector<Json> out;
  for (const Json& u : remoteUsers(prefix)) {
    if (json::getString(u, "status") == "ACTIVE") out.push_back(u);
  }
  return out;
}

int64_t OperatorTest::remoteWrites() {
  Json state = sim_->state();
  const Json* calls = json::find(state, "calls");
  int64_t writes = 0;
  if (calls == nullptr) return 0;
  for (const auto& [action, count] : calls->items()) {
    if (action.rfind("GET ", 0) != 0 && count.is_number_integer()) writes += count.get<int64_t>();
  }
  return writes;
}

bool OperatorTest::tokenWorks(const std::string& token) {
  digicert::ClientOptions options;
  options.base_url = sim_->url();
  options.ca_pem = sim_->caPem();
  options.api_key = SecretString(token);
  options.max_attempts = 1;
  SystemClock clock;
  return digicert::fetchCaller(options, clock).ok();
}

std::unique_ptr<digicert::AccountManager> OperatorTest::adminClient() {
  digicert::ClientOptions options;
  options.base_url = sim_->url();
  options.ca_pem = sim_->caPem();
  options.api_key = SecretString("e2e-admin-key");
  static SystemClock clock;
  auto made = digicert::makeAccountManager(options, clock);
  return made ? std::move(made).value() : nullptr;
}

}  // namespace su::e2e
