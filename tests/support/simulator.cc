#include "support/simulator.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "net/http_client.h"

namespace su::testing {
namespace {

using json::Json;

std::string portOf(const std::string& url) { return url.substr(url.rfind(':') + 1); }

}  // namespace

std::string simulatorBinary() { return SU_DIGICERT_SIM; }

std::unique_ptr<SimProcess> SimProcess::start(std::vector<std::string> args,
                                              std::string state_dir) {
  auto sim = std::unique_ptr<SimProcess>(new SimProcess());
  sim->state_dir_ = state_dir.empty() ? makeTempDir("digicert-sim") : state_dir;
  std::filesystem::create_directories(sim->state_dir_);
  sim->stderr_path_ = sim->state_dir_ + "/sim.log";
  if (!sim->launch(std::move(args))) return nullptr;
  return sim;
}

SimProcess::~SimProcess() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

bool SimProcess::launch(std::vector<std::string> args) {
  args_ = args;
  Process::Options options;
  options.argv = {simulatorBinary(), "--state-dir", state_dir_};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.stderr_path = stderr_path_;
  process_ = std::make_unique<Process>(options);
  std::string error;
  if (!process_->start(&error)) {
    ADD_FAILURE() << "cannot start digicert-sim: " << error;
    return false;
  }
  auto line = process_->waitForLine("READY ", std::chrono::seconds(30));
  if (!line) {
    ADD_FAILURE() << "digicert-sim printed no READY line";
    return false;
  }
  url_ = wordValue(*line, "url");
  control_ = wordValue(*line, "control");
  clientauth_ = wordValue(*line, "clientauth");
  ca_pem_ = readFile(wordValue(*line, "ca"));
  api_key_ = SecretString(wordValue(*line, "api_key"));
  return !url_.empty() && !control_.empty() && !ca_pem_.empty();
}

void SimProcess::restart() {
  process_->stop(std::chrono::seconds(5));
  std::vector<std::string> args = args_;
  args.insert(args.end(), {"--port", portOf(url_), "--control-port", portOf(control_)});
  if (!clientauth_.empty()) args.insert(args.end(), {"--clientauth-port", portOf(clientauth_)});
  std::vector<std::string> original = args_;
  ASSERT_TRUE(launch(args));
  args_ = original;
}

Json SimProcess::control(const std::string& method, const std::string& path, const Json& body) {
  net::ClientConfig config;
  config.base_url = control_;
  auto http = net::HttpClient::create(config);
  if (!http) {
    ADD_FAILURE() << http.error().describe();
    return nullptr;
  }
  net::Request request;
  request.method = method;
  request.target = path;
  if (method != "GET") request.body = json::dump(body);
  auto response = http.value()->send(request);
  if (!response || response->status != 200) {
    ADD_FAILURE() << "control " << method << " " << path << " failed";
    return nullptr;
  }
  auto parsed = json::parse(response->body, "a control answer");
  return parsed ? *parsed : Json(nullptr);
}

int64_t SimProcess::calls(const std::string& action) {
  Json s = state();
  const Json* calls = json::find(s, "calls");
  return calls != nullptr ? json::getInt(*calls, action).value_or(0) : 0;
}

}  // namespace su::testing
