#include "contract_fixture.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "common/log.h"
#include "net/http_client.h"

namespace su::digicert::testing {
namespace {

using json::Json;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

struct Memory {
  std::mutex mu;
  std::vector<SecretString> tokens;
  std::vector<std::string> errors;
};

Memory& memory() {
  static Memory m;
  return m;
}

// Sends this process's stderr to a file for the whole run, so the log scan sees every line.
class StderrCapture {
 public:
  void start(const std::string& path) {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    path_ = path;
  }
  void stop() {
    std::fflush(stderr);
    if (saved_ >= 0) ::dup2(saved_, STDERR_FILENO);
  }
  const std::string& path() const { return path_; }

 private:
  int saved_ = -1;
  std::string path_;
};

StderrCapture& capture() {
  static StderrCapture c;
  return c;
}

std::vector<std::string> scanFile(const std::string& path) {
  std::vector<std::string> hits;
  std::string text = su::testing::readFile(path);
  for (const auto& token : rememberedTokens()) {
    if (text.find(token.reveal()) != std::string::npos) hits.push_back(path);
  }
  return hits;
}

class DigicertEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = su::testing::makeTempDir("digicert-tests");
    capture().start(dir_ + "/client.log");
    log::init(log::Level::kDebug, log::Format::kJson, "digicert-tests");
  }

  // The run's last word: no issued token in any captured log line or error message.
  void TearDown() override {
    std::vector<std::string> leaks = findLeakedTokens();
    ContractTarget::get().shutdown();
    capture().stop();
    std::printf("token scan: %zu issued tokens, %zu error messages, %zu leaks\n",
                rememberedTokens().size(), memory().errors.size(), leaks.size());
    for (const auto& where : leaks) ADD_FAILURE() << "an issued token appears in " << where;
    if (leaks.empty()) su::testing::removeTree(dir_);
  }

 private:
  std::string dir_;
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new DigicertEnvironment);

}  // namespace

// ---- ContractTarget ------------------------------------------------------------------------

ContractTarget& ContractTarget::get() {
  static ContractTarget* target = new ContractTarget();  // lives to the end of the run
  return *target;
}

ContractTarget::ContractTarget() {
  url_ = env("SU_DIGICERT_URL");
  api_key_ = SecretString(env("SU_DIGICERT_API_KEY"));
  real_ = !url_.empty() && !api_key_.empty();
  if (real_) {
    std::string ca_file = env("SU_DIGICERT_CA_FILE");
    if (!ca_file.empty()) ca_pem_ = su::testing::readFile(ca_file);
    account_ = env("SU_DIGICERT_ACCOUNT_ID");
    manager_ = env("SU_DIGICERT_MANAGER").empty() ? "Account Manager" : env("SU_DIGICERT_MANAGER");
    role_ = env("SU_DIGICERT_ROLE");
    std::printf("contract suite: against the tenant at %s (SU_DIGICERT_URL)\n", url_.c_str());
    return;
  }
  sim_ = SimProcess::start({"--clientauth-port", "0"});
  if (!sim_) {
    std::fprintf(stdout, "FATAL: digicert-sim did not start\n");
    std::abort();
  }
  url_ = sim_->url();
  api_key_ = sim_->apiKey();
  ca_pem_ = sim_->caPem();
  account_ = "acct-contract";
  manager_ = "Trust Lifecycle";
  role_ = "signer";
  std::printf("contract suite: against digicert-sim at %s\n", url_.c_str());
}

ClientOptions ContractTarget::options() const {
  ClientOptions options;
  options.base_url = url_;
  options.api_key = api_key_;
  options.ca_pem = ca_pem_;
  options.timeout = std::chrono::seconds(10);
  options.user_agent = "serviceuser-operator-contract-tests";
  options.backoff_base = std::chrono::milliseconds(50);
  return options;
}

ServiceUserSpec ContractTarget::spec(const std::string& label) const {
  ServiceUserSpec spec;
  spec.friendly_name = "ct-" + label + "-" + uniqueSuffix();
  spec.description = "contract test";
  spec.email = "owner@example.com";
  spec.accounts = {account_};
  spec.access = {{manager_, role_.empty() ? std::vector<std::string>{} : std::vector{role_}}};
  return spec;
}

// ---- token bookkeeping ---------------------------------------------------------------------

void rememberToken(const SecretString& token) {
  std::lock_guard lock(memory().mu);
  if (!token.empty()) memory().tokens.push_back(token);
}

void rememberError(const Error& error) {
  std::lock_guard lock(memory().mu);
  memory().errors.push_back(error.describe());
}

const std::vector<SecretString>& rememberedTokens() { return memory().tokens; }

std::string capturedLogPath() { return capture().path(); }

std::vector<std::string> findLeakedTokens() {
  std::fflush(stderr);
  log::shutdown();
  std::vector<std::string> hits = scanFile(capture().path());
  if (auto* sim = ContractTarget::get().sim()) {
    auto more = scanFile(sim->stderrPath());
    hits.insert(hits.end(), more.begin(), more.end());
  }
  for (const auto& message : memory().errors) {
    for (const auto& token : rememberedTokens()) {
      if (message.find(token.reveal()) != std::string::npos) hits.push_back("an error message");
    }
  }
  return hits;
}

std::string uniqueSuffix() {
  unsigned char bytes[4];
  RAND_bytes(bytes, sizeof bytes);
  char out[9];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]);
  return out;
}

}  // namespace su::digicert::testing
