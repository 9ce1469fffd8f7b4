// The Argo CD health check shipped in the chart, run by a Lua 5.1 interpreter against ServiceUser
// objects in tests/shipping/fixtures/argocd-health (one JSON file per case: the object and the
// expected verdict).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "shipping/manifests_fixture.h"
#include "support/control_plane.h"
#include "support/process.h"

namespace su::testing::shipping {
namespace {

namespace fs = std::filesystem;

std::string fixtureDir() { return sourceDir() + "/tests/shipping/fixtures/argocd-health"; }
std::string healthCheck() { return chartDir() + "/files/argocd-health.lua"; }

// A Lua 5.1 expression with the same value as `value`, as Argo CD hands JSON objects to Lua.
std::string toLua(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      std::string out = "{";
      for (const auto& [key, item] : value.items()) {
        out += "[" + toLua(nlohmann::json(key)) + "]=" + toLua(item) + ",";
      }
      return out + "}";
    }
    case nlohmann::json::value_t::array: {
      std::string out = "{";
      for (const auto& item : value) out += toLua(item) + ",";
      return out + "}";
    }
    case nlohmann::json::value_t::string: {
      std::string out = "\"";
      for (unsigned char c : value.get<std::string>()) {
        if (c == '"' || c == '\\') {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20) {
          out += "\\" + std::to_string(c);
        } else {
          out += static_cast<char>(c);
        }
      }
      return out + "\"";
    }
    case nlohmann::json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::null:
      return "nil";
    default:
      return value.dump();
  }
}

struct Verdict {
  int exit_code = -1;
  std::string status;
  std::string message;
  std::string output;
};

Verdict runHealthCheck(const nlohmann::json& object) {
  std::string dir = makeTempDir("su-health");
  std::string object_file = writeTempFile(dir, "object.lua", "return " + toLua(object) + "\n");
  CommandResult r = runCommand("lua5.1 " + sourceDir() + "/tests/shipping/run_health_check.lua " +
                               healthCheck() + " " + object_file);
  removeTree(dir);
  Verdict v{r.exit_code, "", "", r.output};
  auto newline = r.output.find('\n');
  if (newline != std::string::npos) {
    v.status = r.output.substr(0, newline);
    v.message = r.output.substr(newline + 1);
    if (!v.message.empty() && v.message.back() == '\n') v.message.pop_back();
  }
  return v;
}

std::vector<std::string> fixtureNames() {
  std::vector<std::string> names;
  if (!fs::is_directory(fixtureDir())) return names;
  for (const auto& entry : fs::directory_iterator(fixtureDir())) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class ArgoCdHealthFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ArgoCdHealthFixture, GivesTheExpectedStatusAndMessage) {
  nlohmann::json fixture =
      nlohmann::json::parse(readFile(fixtureDir() + "/" + GetParam() + ".json"));
  ASSERT_TRUE(fixture.contains("object") && fixture.contains("expect")) << GetParam();

  Verdict v = runHealthCheck(fixture["object"]);

  ASSERT_EQ(v.exit_code, 0) << v.output;
  EXPECT_EQ(v.status, fixture["expect"]["status"].get<std::string>()) << v.message;
  std::string wanted = fixture["expect"]["messageContains"].get<std::string>();
  EXPECT_NE(v.message.find(wanted), std::string::npos)
      << "message \"" << v.message << "\" lacks \"" << wanted << "\"";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ArgoCdHealthFixture, ::testing::ValuesIn(fixtureNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name;
                           for (char c : info.param) name += std::isalnum(c) ? c : '_';
                           return name;
                         });

TEST(ArgoCdHealthCheck, HasAFixtureForEveryVerdictAndTheTrickyCases) {
  std::vector<std::string> names = fixtureNames();
  std::set<std::string> have(names.begin(), names.end());
  for (const char* required : {
           "no-status-is-progressing",
           "stale-observed-generation-with-ready-true-is-progressing",
           "stale-ready-condition-with-current-status-generation-is-progressing",
           "ready-false-reason-pending-alone-is-progressing",
           "degraded-and-progressing-both-true-is-degraded",
           "ready-true-for-current-generation-is-healthy",
           "suspended-while-ready-is-suspended",
           "rotation-under-way-while-ready-is-progressing",
       }) {
    EXPECT_TRUE(have.count(required)) << "missing fixture " << required;
  }
  std::set<std::string> verdicts;
  for (const auto& name : names) {
    nlohmann::json f = nlohmann::json::parse(readFile(fixtureDir() + "/" + name + ".json"));
    verdicts.insert(f["expect"]["status"].get<std::string>());
  }
  EXPECT_EQ(verdicts, (std::set<std::string>{"Degraded", "Healthy", "Progressing", "Suspended"}));
}

TEST(ArgoCdHealthCheck, FailsTheDriverWhenTheCheckReachesOutsideArgoCdsLibraries) {
  // The driver is what makes the fixtures meaningful: a check that used io or os would load in
  // a plain interpreter but not in Argo CD.
  std::string dir = makeTempDir("su-health");
  std::string check = writeTempFile(dir, "check.lua", "os.exit(0)\nreturn {status='Healthy'}\n");
  std::string object = writeTempFile(dir, "object.lua", "return {}\n");
  CommandResult r = runCommand("lua5.1 " + sourceDir() + "/tests/shipping/run_health_check.lua " +
                               check + " " + object);
  removeTree(dir);
  EXPECT_NE(r.exit_code, 0) << r.output;
}

TEST(ArgoCdHealthCheck, IsReproducedVerbatimInTheArgoCdGuide) {
  std::string guide = readFile(sourceDir() + "/docs/argocd.md");
  std::string check = readFile(healthCheck());
  ASSERT_FALSE(check.empty());
  // The guide indents the script under the argocd-cm key; compare line by line.
  std::string indented;
  size_t start = 0;
  while (start < check.size()) {
    size_t end = check.find('\n', start);
    std::string line = check.substr(start, end - start);
    indented += line.empty() ? "\n" : "    " + line + "\n";
    start = end == std::string::npos ? check.size() : end + 1;
  }
  EXPECT_NE(guide.find(indented), std::string::npos)
      << "docs/argocd.md must show files/argocd-health.lua as it is, indented by four spaces";
}

}  // namespace
}  // namespace su::testing::shipping
