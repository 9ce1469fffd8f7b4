// Credentials never reach a log line: every component that logs is driven into its failure
// paths with a recognisable token while stderr is captured, and the capture is searched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/log.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/kube_fixture.h"
#include "kube/leader_election.h"
#include "support/process.h"

namespace su::kube {
namespace {

using namespace std::chrono_literals;
using testing::ControlPlane;

constexpr const char* kToken = "log-canary-token-3c9f1e";

// Sends fd 2 to a file while alive.
class StderrCapture {
 public:
  explicit StderrCapture(const std::string& path) : path_(path) {
    saved_ = ::dup(2);
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  std::string finish() {
    restore();
    return su::testing::readFile(path_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    ::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

TEST(Redaction, NoTokenOrKeyReachesALogLineOnAnyFailurePath) {
  std::string dir = su::testing::makeTempDir("su-redaction-");
  log::init(log::Level::kDebug, log::Format::kJson, "kube-tests");
  RestConfig bad_token = testing::configFor(ControlPlane::shared(), "admin-token");
  bad_token.bearer_token = SecretString(kToken);
  RestConfig cert = testing::configFor(ControlPlane::shared(), "admin");
  RestConfig unreachable = bad_token;
  unreachable.server = "https://127.0.0.1:1";
  ClientOptions fast;
  fast.backoff_base = 1ms;

  StderrCapture capture(dir + "/stderr");
  {
    auto refused = Client::create(bad_token, fast).value();
    auto offline = Client::create(unreachable, fast).value();
    auto with_cert = Client::create(cert, fast).value();
    EXPECT_FALSE(refused->list(kSecrets, "default").ok());
    EXPECT_FALSE(offline->get(kSecrets, "default", "x").ok());  // retried: debug lines

    InformerOptions options;
    options.resource = kSecrets;
    options.backoff_base = 50ms;
    Informer failing(*refused, options);
    failing.start();
    Informer offline_informer(*offline, options);
    offline_informer.start();

    LeaderElectionOptions election;
    election.lease_namespace = "default";
    election.lease_name = "redaction";
    election.identity = "x";
    election.lease_duration = 3s;
    election.renew_deadline = 2s;
    election.retry_period = 200ms;
    auto elector = LeaderElector::create(bad_token, election, {}).value();
    elector->start();

    EventRecorderOptions events;
    events.controller = "serviceuser.dev/kube-tests";
    events.instance = "x";
    EventRecorder recorder(*refused, events);
    ObjectReference ref;
    ref.kind = "ConfigMap";
    ref.ns = "default";
    ref.name = "x";
    recorder.record(ref, EventType::kWarning, "Reason", "Action", "note");
    recorder.flush(5s);

    EXPECT_TRUE(with_cert->list(kSecrets, "default").ok());
    std::this_thread::sleep_for(600ms);
  }
  std::string logged = capture.finish();
  log::init(log::Level::kInfo, log::Format::kJson, "kube-tests");
  su::testing::removeTree(dir);

  // The failure paths did log (so the search below means something) ...
  EXPECT_NE(logged.find("informer list failed"), std::string::npos) << logged.substr(0, 2000);
  EXPECT_NE(logged.find("retrying kube request"), std::string::npos);
  EXPECT_NE(logged.find("event not written"), std::string::npos);
  // ... and none of them carried a credential.
  EXPECT_EQ(logged.find(kToken), std::string::npos);
  EXPECT_EQ(logged.find("Bearer"), std::string::npos);
  EXPECT_EQ(logged.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(logged.find(cert.client_key_pem.reveal().substr(40, 32)), std::string::npos);
}

}  // namespace
}  // namespace su::kube
