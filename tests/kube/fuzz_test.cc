// Bounded randomized tests of the parsers that read outside input: the watch-stream line parser
// and the kubeconfig loader. Seeds come from tests/kube/corpus; each run mutates them with a
// fixed seed (SU_FUZZ_SEED and SU_FUZZ_ITERATIONS change the run) and checks that every input
// gives a value or an error, never a crash or an exception, and that no error quotes a secret.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/watch_event.h"
#include "support/control_plane.h"
#include "support/process.h"

namespace su::kube {
namespace {

constexpr const char* kMarker = "MARKER";  // a part of FUZZ-SECRET-MARKER survives most cuts

std::string corpusDir(const std::string& name) {
  return su::testing::sourceDir() + "/tests/kube/corpus/" + name;
}

std::vector<std::string> seeds(const std::string& dir, const std::string& extension) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(corpusDir(dir))) {
    if (entry.path().extension() == extension) {
      out.push_back(su::testing::readFile(entry.path().string()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t envNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// Small structural edits that tend to reach parser corners.
class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string s, const std::vector<std::string>& pool) {
    int edits = 1 + static_cast<int>(pick(4));
    for (int i = 0; i < edits; ++i) s = edit(std::move(s), pool);
    return s;
  }

 private:
  uint64_t pick(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string edit(std::string s, const std::vector<std::string>& pool) {
    static const char* kTokens[] = {
        "\"",        "{",     "}",       "[",       "]",  ":",        ",",  "null", "true",
        "-1",        "1e999", "\\u0000", "\\ud800", "\n", "- ",       ": ", "&a ",  "*a",
        "!!binary ", "<<: ",  "'",       "#",       "\t", "\xff\xfe", "~"};
    size_t at = pick(s.size() + 1);
    switch (pick(8)) {
      case 0:  // flip a bit
        if (!s.empty()) s[at % s.size()] ^= static_cast<char>(1 << pick(8));
        return s;
      case 1:  // cut a range
        return s.erase(at, pick(32));
      case 2:  // truncate
        return s.substr(0, at);
      case 3:  // insert a token
        return s.insert(at, kTokens[pick(std::size(kTokens))]);
      case 4: {  // duplicate a range
        size_t len = pick(64);
        return s.insert(at, s.substr(at, len));
      }
      case 5: {  // splice in part of another seed
        const std::string& other = pool[pick(pool.size())];
        size_t from = pick(other.size() + 1);
        return s.substr(0, at) + other.substr(from, pick(128));
      }
      case 6:  // a random byte
        return s.insert(at, 1, static_cast<char>(pick(256)));
      default:  // replace a character with a structural one
        if (!s.empty()) s[at % s.size()] = "{}[]:,\"' \n-"[pick(11)];
        return s;
    }
  }

  std::mt19937_64 rng_;
};

void checkWatchLine(const std::string& line) {
  Result<WatchEvent> event = [&]() -> Result<WatchEvent> {
    try {
      return parseWatchLine(line);
    } catch (...) {
      ADD_FAILURE() << "parseWatchLine threw on input of " << line.size() << " bytes";
      return makeError(ErrorKind::kInternal, "threw");
    }
  }();
  if (!event.ok()) {
    EXPECT_EQ(event.error().message.find(kMarker), std::string::npos) << event.error().message;
    return;
  }
  // Whatever parses must be usable by the informer without throwing.
  Json object = event->object;
  EXPECT_NO_THROW({
    (void)event->resourceVersion();
    (void)watchErrorCode(*event);
    if (event->type != WatchEventType::kError && event->type != WatchEventType::kBookmark) {
      EXPECT_FALSE(objectKey(object).empty());
    }
    stripManagedFields(object);
    (void)ownerUids(object);
    (void)namespaceOf(object);
  });
}

// Errors quote the names of contexts, clusters and users ("context \"x\" is not defined",
// "users[x]"), and a mutation can move any text into a name. What must never appear is a
// field's value outside such a quoted name.
std::string withoutQuotedNames(const std::string& message) {
  std::string out;
  char closing = 0;
  for (char c : message) {
    if (closing != 0) {
      if (c == closing) closing = 0;
      continue;
    }
    if (c == '"' || c == '[') {
      closing = c == '"' ? '"' : ']';
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void checkKubeconfig(const std::string& text, const std::string& origin) {
  try {
    auto config = parseKubeconfig(text, origin);
    if (!config.ok()) {
      std::string message = withoutQuotedNames(config.error().message);
      EXPECT_EQ(message.find(kMarker), std::string::npos) << config.error().message;
      EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << config.error().message;
      return;
    }
    EXPECT_TRUE(config->server.rfind("https://", 0) == 0 ||
                config->server.rfind("http://", 0) == 0);
  } catch (...) {
    ADD_FAILURE() << "parseKubeconfig threw on input of " << text.size() << " bytes";
  }
}

TEST(WatchLineFuzz, SeedsParseAsExpected) {
  auto lines = seeds("watch", ".json");
  ASSERT_GE(lines.size(), 8u);
  int ok = 0;
  for (const auto& line : lines) {
    checkWatchLine(line);
    ok += parseWatchLine(line).ok();
  }
  EXPECT_EQ(ok, 7);  // all but the truncated line and the one with wrong field types
}

TEST(WatchLineFuzz, AnyMutationGivesAValueOrAnErrorWithoutTheSecret) {
  auto pool = seeds("watch", ".json");
  ASSERT_FALSE(pool.empty());
  uint64_t seed = envNumber("SU_FUZZ_SEED", 20261204);
  uint64_t iterations = envNumber("SU_FUZZ_ITERATIONS", 20000);
  Mutator mutator(seed);
  for (uint64_t i = 0; i < iterations && !HasFailure(); ++i) {
    checkWatchLine(mutator.mutate(pool[i % pool.size()], pool));
  }
}

TEST(WatchLineFuzz, SurvivesDeepNestingAndHugeNumbers) {
  checkWatchLine(std::string(200000, '[') + std::string(200000, ']'));
  checkWatchLine(R"({"type":"ADDED","object":)" + std::string(100000, '{'));
  checkWatchLine(R"({"type":"ADDED","object":{"metadata":{"name":"n","resourceVersion":)" +
                 std::string(5000, '9') + "}}}");
  checkWatchLine(std::string("\0\0\0", 3));
}

TEST(KubeconfigFuzz, SeedsLoadOrFailCleanly) {
  auto docs = seeds("kubeconfig", ".yaml");
  ASSERT_GE(docs.size(), 5u);
  std::string origin = corpusDir("kubeconfig") + "/seed.yaml";
  for (const auto& doc : docs) checkKubeconfig(doc, origin);
  auto full =
      parseKubeconfig(su::testing::readFile(corpusDir("kubeconfig") + "/full.yaml"), origin);
  ASSERT_TRUE(full.ok()) << full.error().describe();
  EXPECT_EQ(full->default_namespace, "ops");
  auto relative = parseKubeconfig(
      su::testing::readFile(corpusDir("kubeconfig") + "/relative-files.yaml"), origin);
  ASSERT_TRUE(relative.ok()) << relative.error().describe();
  EXPECT_EQ(relative->server, "https://[::1]:6443");
  EXPECT_FALSE(relative->client_key_pem.empty());
}

TEST(KubeconfigFuzz, AnyMutationGivesAConfigOrAnErrorWithoutTheSecret) {
  auto pool = seeds("kubeconfig", ".yaml");
  ASSERT_FALSE(pool.empty());
  std::string origin = corpusDir("kubeconfig") + "/mutant.yaml";
  uint64_t seed = envNumber("SU_FUZZ_SEED", 20261204);
  uint64_t iterations = envNumber("SU_FUZZ_ITERATIONS", 20000) / 4;
  Mutator mutator(seed);
  for (uint64_t i = 0; i < iterations && !HasFailure(); ++i) {
    checkKubeconfig(mutator.mutate(pool[i % pool.size()], pool), origin);
  }
}

TEST(KubeconfigFuzz, SurvivesDeepNesting) {
  std::string origin = corpusDir("kubeconfig") + "/deep.yaml";
  checkKubeconfig("clusters: " + std::string(100000, '['), origin);
  checkKubeconfig("clusters: " + std::string(100000, '{'), origin);
  std::string indented;
  for (int i = 0; i < 3000; ++i) indented += std::string(i, ' ') + "- \n";
  checkKubeconfig(indented, origin);
}

}  // namespace
}  // namespace su::kube
