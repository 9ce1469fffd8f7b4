// The Dockerfile, checked without a Docker engine: it builds with the shared build script, and
// its runtime stage installs exactly the Debian packages whose libraries the operator binary
// links (found with objdump and ldd on the binary, and dpkg for the owning packages).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "shipping/manifests_fixture.h"
#include "support/control_plane.h"
#include "support/process.h"

namespace su::testing::shipping {
namespace {

// Packages every debian:bookworm-slim image already has.
const std::set<std::string> kBaseImage = {"libc6", "libgcc-s1", "libstdc++6"};

std::string dockerfile() { return readFile(sourceDir() + "/Dockerfile"); }

// The stage from its FROM line up to the next FROM.
std::string stage(const std::string& text, const std::string& from) {
  auto start = text.find("FROM " + from);
  if (start == std::string::npos) return {};
  auto end = text.find("\nFROM ", start + 1);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// Words after "apt-get install ... --no-install-recommends" in a stage, up to the next "&&".
std::set<std::string> installedPackages(const std::string& stage_text) {
  std::set<std::string> packages;
  auto at = stage_text.find("apt-get install");
  if (at == std::string::npos) return packages;
  auto end = stage_text.find("&&", at);
  std::istringstream words(stage_text.substr(at, end - at));
  for (std::string w; words >> w;) {
    if (w == "\\" || w == "apt-get" || w == "install" || w[0] == '-') continue;
    packages.insert(w);
  }
  return packages;
}

// The Debian package (without architecture) that owns a library path, trying the /usr-merged
// spelling too.
std::string owningPackage(const std::string& path) {
  for (const std::string& candidate :
       {path, "/usr" + path, std::filesystem::weakly_canonical(path).string()}) {
    CommandResult r = runCommand("dpkg-query -S " + candidate);
    if (r.exit_code == 0) return r.output.substr(0, r.output.find_first_of(":,"));
  }
  return "?" + path;
}

// Library name -> path, for every library the dynamic loader would load.
std::map<std::string, std::string> loadedLibraries(const std::string& binary) {
  std::map<std::string, std::string> libs;
  std::istringstream lines(runCommand("ldd " + binary).output);
  std::regex row(R"(^\s*(\S+) => (/\S+) \()");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) libs[m[1]] = m[2];
  }
  return libs;
}

std::set<std::string> neededLibraries(const std::string& binary) {
  std::set<std::string> needed;
  std::istringstream lines(runCommand("objdump -p " + binary).output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string key, value;
    if (words >> key >> value && key == "NEEDED") needed.insert(value);
  }
  return needed;
}

TEST(Dockerfile, BuildsOnDebianWithTheSharedBuildScriptAndNoTests) {
  std::string text = dockerfile();
  std::string build = stage(text, "debian:bookworm AS build");
  ASSERT_FALSE(build.empty()) << "the build stage must be FROM debian:bookworm AS build";

  EXPECT_NE(build.find("tools/build.sh serviceuser-operator"), std::string::npos);
  EXPECT_NE(build.find("SU_BUILD_TESTS=OFF"), std::string::npos);
  // Only Debian packages are fetched: no other downloads, no remote ADD, no Go or git.
  for (const char* fetch : {"curl ", "wget ", "git clone", "go install", "go get", "ADD http"}) {
    EXPECT_EQ(text.find(fetch), std::string::npos) << fetch;
  }
  // The build stage's package list is part of tools/install-deps.sh, so both stay in step.
  std::string deps = readFile(sourceDir() + "/tools/install-deps.sh");
  for (const auto& p : installedPackages(build)) {
    EXPECT_NE(deps.find(" " + p), std::string::npos) << p << " is not in tools/install-deps.sh";
  }
}

TEST(Dockerfile, RunsTheOperatorAsANonRootUserFromASlimImage) {
  std::string runtime = stage(dockerfile(), "debian:bookworm-slim");
  ASSERT_FALSE(runtime.empty()) << "the runtime stage must be FROM debian:bookworm-slim";

  EXPECT_NE(runtime.find("\nUSER 65532:65532"), std::string::npos);
  EXPECT_NE(runtime.find("ENTRYPOINT [\"/usr/local/bin/serviceuser-operator\"]"),
            std::string::npos);
  EXPECT_NE(runtime.find("--no-install-recommends"), std::string::npos);
  EXPECT_NE(runtime.find("rm -rf /var/lib/apt/lists/*"), std::string::npos);
  for (const char* dev : {"-dev", "build-essential", "cmake"}) {
    EXPECT_EQ(runtime.find(dev), std::string::npos) << dev << " does not belong at run time";
  }
}

TEST(Dockerfile, InstallsExactlyThePackagesOfTheLibrariesTheOperatorLinks) {
  const std::string binary = operatorBinary();
  ASSERT_TRUE(std::filesystem::exists(binary))
      << binary << " is missing: build the serviceuser-operator target (tools/build.sh), or "
      << "name the binary in SU_OPERATOR_BINARY";
  std::set<std::string> runtime = installedPackages(stage(dockerfile(), "debian:bookworm-slim"));
  ASSERT_TRUE(runtime.count("ca-certificates")) << "TLS to DigiCert ONE needs the CA roots";
  runtime.erase("ca-certificates");

  std::map<std::string, std::string> loaded = loadedLibraries(binary);
  std::set<std::string> direct;
  for (const auto& lib : neededLibraries(binary)) {
    ASSERT_TRUE(loaded.count(lib)) << lib << " is needed but ldd does not resolve it";
    std::string package = owningPackage(loaded[lib]);
    if (!kBaseImage.count(package)) direct.insert(package);
  }
  EXPECT_EQ(runtime, direct) << "the runtime stage must install the packages owning the "
                                "libraries in the binary's NEEDED entries, and nothing else";

  // What those libraries load in turn comes with the packages' own dependencies.
  std::string closure =
      runCommand(
          "apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts "
          "--no-breaks --no-replaces --no-enhances " +
          [&] {
            std::string all;
            for (const auto& p : runtime) all += p + " ";
            return all;
          }())
          .output;
  for (const auto& [lib, path] : loaded) {
    std::string package = owningPackage(path);
    if (kBaseImage.count(package) || runtime.count(package)) continue;
    EXPECT_NE(closure.find("\n" + package + "\n"), std::string::npos)
        << lib << " (" << package << ") is loaded but no runtime package depends on it";
  }
}

}  // namespace
}  // namespace su::testing::shipping
