// Kubeconfig loading as kubectl does it, and the errors for what the operator refuses.
#include "kube/kubeconfig.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "kube/kube_fixture.h"
#include "pki/pem.h"
#include "support/process.h"

namespace su::kube {
namespace {

using su::testing::makeTempDir;
using su::testing::readFile;
using testing::ControlPlane;

constexpr const char* kTokenMarker = "tok-DO-NOT-LEAK-7f3a";

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("su-kubeconfig-");
    // Real PEM material from the control plane, so the loader's checks pass.
    std::string cp = readFile(ControlPlane::shared().kubeconfig());
    ca_data_ = field(cp, "certificate-authority-data");
    cert_data_ = field(cp, "client-certificate-data");
    key_data_ = field(cp, "client-key-data");
  }
  void TearDown() override { su::testing::removeTree(dir_); }

  static std::string field(const std::string& text, const std::string& key) {
    size_t at = text.find(key + ": ");
    EXPECT_NE(at, std::string::npos) << key;
    size_t start = at + key.size() + 2;
    return text.substr(start, text.find('\n', start) - start);
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string write(const std::string& name, const std::string& text) {
    writeFile(path(name), text);
    return path(name);
  }

  static Error loadError(const LoadOptions& options) {
    auto config = loadKubeconfig(options);
    EXPECT_FALSE(config.ok());
    return config.ok() ? Error{} : config.error();
  }

  std::string dir_, ca_data_, cert_data_, key_data_;
};

TEST_F(KubeconfigTest, ReadsEachContextOfTheControlPlanesKubeconfig) {
  LoadOptions options;
  options.path = ControlPlane::shared().kubeconfig();
  auto admin = loadKubeconfig(options);
  ASSERT_TRUE(admin.ok()) << admin.error().describe();
  EXPECT_EQ(admin->context, "admin");
  EXPECT_EQ(admin->server, ControlPlane::shared().server());
  EXPECT_NE(admin->ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(admin->client_cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(admin->client_key_pem.reveal().find("PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(admin->bearer_token.empty());
  EXPECT_EQ(admin->default_namespace, "default");

  options.context = "admin-token";
  auto token = loadKubeconfig(options);
  ASSERT_TRUE(token.ok()) << token.error().describe();
  EXPECT_TRUE(token->client_cert_pem.empty());
  EXPECT_FALSE(token->bearer_token.empty());
  auto header = token->authorization();
  ASSERT_TRUE(header.ok());
  ASSERT_TRUE(header->has_value());
  EXPECT_EQ((*header)->reveal(), "Bearer " + token->bearer_token.reveal());
}

TEST_F(KubeconfigTest, MergesKubeconfigFilesWithTheFirstFileWinningPerName) {
  std::string first = write("first", R"(
apiVersion: v1
kind: Config
current-context: ctx-a
clusters:
- name: shared
  cluster: {server: "https://127.0.0.1:1111", certificate-authority-data: )" +
                                         ca_data_ + R"(}
contexts:
- name: ctx-a
  context: {cluster: shared, user: alice, namespace: team-a}
users:
- name: alice
  user: {token: alice-token}
)");
  std::string second = write("second", R"(
current-context: ctx-b
clusters:
- name: shared
  cluster: {server: "https://127.0.0.1:2222"}
contexts:
- name: ctx-b
  context: {cluster: shared, user: bob}
- name: ctx-a
  context: {cluster: shared, user: bob, namespace: ignored}
users:
- name: bob
  user: {token: bob-token}
- name: alice
  user: {token: ignored-token}
)");
  ScopedEnv env("KUBECONFIG", first + ":" + path("missing-is-skipped") + ":" + second);

  auto current = loadKubeconfig();
  ASSERT_TRUE(current.ok()) << current.error().describe();
  EXPECT_EQ(current->context, "ctx-a");
  EXPECT_EQ(current->server, "https://127.0.0.1:1111");
  EXPECT_EQ(current->default_namespace, "team-a");
  EXPECT_EQ(current->bearer_token.reveal(), "alice-token");

  LoadOptions options;
  options.context = "ctx-b";
  auto other = loadKubeconfig(options);
  ASSERT_TRUE(other.ok()) << other.error().describe();
  EXPECT_EQ(other->server, "https://127.0.0.1:1111");  // the cluster named first wins
  EXPECT_EQ(other->bearer_token.reveal(), "bob-token");
  EXPECT_EQ(other->default_namespace, "default");
}

TEST_F(KubeconfigTest, ResolvesRelativeFilesAgainstTheKubeconfigsFolder) {
  auto ca = pki::base64Decode(ca_data_);
  ASSERT_TRUE(ca.ok());
  write("ca.crt", *ca);
  write("token", "file-token\n");
  std::string kubeconfig = write("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:3333", certificate-authority: ca.crt}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  LoadOptions options;
  options.path = kubeconfig;
  auto config = loadKubeconfig(options);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->ca_pem, *ca);
  ASSERT_NE(config->token_file, nullptr);
  EXPECT_EQ(config->token_file->path(), path("token"));
  auto header = config->authorization();
  ASSERT_TRUE(header.ok());
  EXPECT_EQ((*header)->reveal(), "Bearer file-token");
}

TEST_F(KubeconfigTest, ReadsARotatedTokenFileAgain) {
  write("token", "first-token");
  TokenFile file(path("token"));
  auto first = file.current();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->reveal(), "first-token");

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  write("token.new", "second-token-longer");
  ASSERT_EQ(::rename(path("token.new").c_str(), path("token").c_str()), 0);
  auto second = file.current();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->reveal(), "second-token-longer");

  // A token that vanishes keeps the last good value rather than failing every request.
  ASSERT_EQ(::unlink(path("token").c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto kept = file.current();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->reveal(), "second-token-longer");
}

TEST_F(KubeconfigTest, NamesTheFileAndFieldInEveryErrorAndNeverTheSecret) {
  struct Case {
    std::string description;
    std::string text;
    std::string context;
    std::string expected;  // a part of the message
  };
  std::string head = "clusters: [{name: k, cluster: {server: \"https://127.0.0.1:1\"}}]\n";
  std::string good_user = "users: [{name: u, user: {token: " + std::string(kTokenMarker) + "}}]\n";
  std::string ctx = "contexts: [{name: c, context: {cluster: k, user: u}}]\ncurrent-context: c\n";
  const Case cases[] = {
      {"unknown context", head + good_user + ctx, "nope", "context \"nope\" is not defined"},
      {"no current context", head + good_user + "contexts: [{name: c, context: {cluster: k}}]\n",
       "", "no current-context"},
      {"broken YAML", "clusters: [\n  - {name: " + std::string(kTokenMarker) + "\n", "",
       "not valid YAML at line"},
      {"an unclosed quote swallowing the credentials",
       head + "contexts: [{name: c, context: {cluster: k, user: u}}]\ncurrent-context: \"c\n" +
           good_user + "\"\n",
       "", "context (a malformed name) is not defined"},
      {"a list where a map belongs", "clusters: {name: k}\n", "", "clusters is not a list"},
      {"context names a missing cluster",
       good_user + "contexts: [{name: c, context: {cluster: gone, user: u}}]\n", "c",
       "contexts[\"c\"].context.cluster \"gone\" is not defined"},
      {"context names a missing user",
       head + "contexts: [{name: c, context: {cluster: k, user: x}}]\n", "c",
       "contexts[\"c\"].context.user \"x\" is not defined"},
      {"exec plugin", head + "users: [{name: u, user: {exec: {command: get-token}}}]\n" + ctx, "",
       "users[\"u\"].user.exec is not supported"},
      {"auth provider", head + "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n" + ctx, "",
       "users[\"u\"].user.auth-provider is not supported"},
      {"basic auth",
       head + "users: [{name: u, user: {username: a, password: " + std::string(kTokenMarker) +
           "}}]\n" + ctx,
       "", "users[\"u\"].user.username is not supported"},
      {"key data not base64",
       head + "users: [{name: u, user: {client-certificate-data: " + cert_data_ +
           ", client-key-data: \"" + kTokenMarker + "!!\"}}]\n" + ctx,
       "", "users[\"u\"].user.client-key-data is not valid base64"},
      {"key data not a key",
       head + "users: [{name: u, user: {client-certificate-data: " + cert_data_ +
           ", client-key-data: " + pki::base64Encode(std::string(kTokenMarker)) + "}}]\n" + ctx,
       "", "the client key is not a PEM private key"},
      {"certificate without key",
       head + "users: [{name: u, user: {client-certificate-data: " + cert_data_ + "}}]\n" + ctx, "",
       "a client certificate or a key without the other"},
      {"unreadable certificate file",
       head +
           "users: [{name: u, user: {client-certificate: missing.crt, client-key: "
           "missing.key}}]\n" +
           ctx,
       "", "users[\"u\"].user.client-certificate: cannot read " + path("missing.crt")},
      {"certificate authority is a folder",
       "clusters: [{name: k, cluster: {server: \"https://h:1\", certificate-authority: /}}]\n" +
           good_user + ctx,
       "", "clusters[\"k\"].cluster.certificate-authority: / is not a regular file"},
      {"proxy",
       "clusters: [{name: k, cluster: {server: \"https://h:1\", proxy-url: \"http://p\"}}]\n" +
           good_user + ctx,
       "", "proxy-url is set: proxies are not supported"},
      {"server with a path",
       "clusters: [{name: k, cluster: {server: \"https://h:1/prefix\"}}]\n" + good_user + ctx, "",
       "server with a path is not supported"},
      {"server without scheme",
       "clusters: [{name: k, cluster: {server: \"h:1\"}}]\n" + good_user + ctx, "",
       "server must start with https://"},
      {"insecure flag not a boolean",
       "clusters: [{name: k, cluster: {server: \"https://h:1\", insecure-skip-tls-verify: "
       "maybe}}]\n" +
           good_user + ctx,
       "", "insecure-skip-tls-verify is not true or false"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.description);
    std::string file = write("bad", c.text);
    LoadOptions options;
    options.path = file;
    options.context = c.context;
    Error error = loadError(options);
    EXPECT_EQ(error.kind, ErrorKind::kInvalid);
    EXPECT_NE(error.message.find(file), std::string::npos) << error.message;
    EXPECT_NE(error.message.find(c.expected), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find(kTokenMarker), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find(key_data_.substr(0, 24)), std::string::npos);
  }
}

TEST_F(KubeconfigTest, ReportsAMissingExplicitFileByName) {
  LoadOptions options;
  options.path = path("absent");
  Error error = loadError(options);
  EXPECT_NE(error.message.find(path("absent")), std::string::npos) << error.message;
}

TEST_F(KubeconfigTest, BuildsTheInClusterConfigFromTheServiceAccountFolder) {
  auto ca = pki::base64Decode(ca_data_);
  ASSERT_TRUE(ca.ok());
  write("ca.crt", *ca);
  write("token", "sa-token\n");
  write("namespace", "operators\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");

  auto config = inClusterConfig(dir_);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
  EXPECT_EQ(config->default_namespace, "operators");
  EXPECT_EQ(config->ca_pem, *ca);
  auto header = config->authorization();
  ASSERT_TRUE(header.ok());
  EXPECT_EQ((*header)->reveal(), "Bearer sa-token");
}

TEST_F(KubeconfigTest, RefusesTheInClusterConfigOutsideACluster) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "");
  auto config = inClusterConfig(dir_);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("KUBERNETES_SERVICE_HOST"), std::string::npos);
}

TEST_F(KubeconfigTest, TalksToTheApiServerWithATokenFile) {
  RestConfig token_config = testing::configFor(ControlPlane::shared(), "admin-token");
  write("token", token_config.bearer_token.reveal());
  std::string kubeconfig =
      write("config", "current-context: c\nclusters: [{name: k, cluster: {server: \"" +
                          ControlPlane::shared().server() +
                          "\", certificate-authority-data: " + ca_data_ +
                          "}}]\nusers: [{name: u, user: {tokenFile: token}}]\n"
                          "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
  LoadOptions options;
  options.path = kubeconfig;
  auto config = loadKubeconfig(options);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  auto client = Client::create(*config);
  ASSERT_TRUE(client.ok()) << client.error().describe();
  auto namespaces = (*client)->list(kNamespaces, "");
  ASSERT_TRUE(namespaces.ok()) << namespaces.error().describe();
  EXPECT_FALSE(namespaces->items.empty());
}

TEST_F(KubeconfigTest, ReadsTheTokenFileAgainWhenTheServerRefusesTheToken) {
  RestConfig good = testing::configFor(ControlPlane::shared(), "admin-token");
  write("token", "not-a-valid-token");
  RestConfig config = good;
  config.bearer_token = SecretString();
  config.token_file = std::make_shared<TokenFile>(path("token"));
  auto client = Client::create(config).value();
  auto refused = client->list(kNamespaces, "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kUnauthorized);

  // Rotated within the second the file is trusted without a look: the 401 makes it look.
  write("token.new", good.bearer_token.reveal());
  ASSERT_EQ(::rename(path("token.new").c_str(), path("token").c_str()), 0);
  auto created =
      client->create(kConfigMaps, testing::configMap("default", testing::uniqueName("rotated")));
  EXPECT_TRUE(created.ok()) << created.error().describe();
}

}  // namespace
}  // namespace su::kube
