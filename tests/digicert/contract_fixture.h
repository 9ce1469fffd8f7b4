#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/secret.h"
#include "digicert/account_manager.h"
#include "support/process.h"
#include "support/simulator.h"

namespace su::digicert::testing {

using SimProcess = su::testing::SimProcess;

// What the contract suite talks to: the simulator (the default, and always in CI), or a real
// DigiCert ONE tenant when SU_DIGICERT_URL and SU_DIGICERT_API_KEY are set.
class ContractTarget {
 public:
  static ContractTarget& get();

  bool real() const { return real_; }
  SimProcess* sim() const { return sim_.get(); }
  ClientOptions options() const;
  // A spec the target accepts, with a friendly name unique to this run.
  ServiceUserSpec spec(const std::string& label) const;
  // Stops the simulator; called once at the end of the run.
  void shutdown() { sim_.reset(); }

 private:
  ContractTarget();
  bool real_ = false;
  std::unique_ptr<SimProcess> sim_;
  std::string url_, ca_pem_, account_, manager_, role_;
  SecretString api_key_;
};

// Every token a test saw and every error message a test got; the run's end scans the captured
// logs and these messages for the tokens.
void rememberToken(const SecretString& token);
void rememberError(const Error& error);
const std::vector<SecretString>& rememberedTokens();
// The file that receives this process's stderr (every log line) during the run.
std::string capturedLogPath();
// Returns the locations where any remembered token was found.
std::vector<std::string> findLeakedTokens();

std::string uniqueSuffix();

}  // namespace su::digicert::testing

// Cases that need the simulator's control interface are skipped, with a note, on a real tenant.
#define SU_SIMULATOR_ONLY(why)                                                           \
  if (::su::digicert::testing::ContractTarget::get().real()) {                           \
    std::printf("NOTE: skipped against a real tenant (needs the simulator): %s\n", why); \
    GTEST_SKIP() << why;                                                                 \
  }
