#include "kube/kubeconfig.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "pki/pem.h"

namespace su::kube {
namespace {

// Plain copies of what a kubeconfig says; yaml-cpp nodes are not kept past parsing.
struct ClusterEntry {
  std::string origin;  // the file it came from
  std::string server;
  std::string ca_file;
  std::string ca_data;
  std::string tls_server_name;
  std::string proxy_url;
  bool insecure = false;
};

struct UserEntry {
  std::string origin;
  std::string cert_file;
  std::string cert_data;
  std::string key_file;
  SecretString key_data;
  SecretString token;
  std::string token_file;
  std::string refused;  // the first unsupported field set, if any
};

struct ContextEntry {
  std::string origin;
  std::string cluster;
  std::string user;
  std::string ns;
};

struct Merged {
  std::map<std::string, ClusterEntry> clusters;
  std::map<std::string, UserEntry> users;
  std::map<std::string, ContextEntry> contexts;
  std::string current_context;
  std::string origins;  // every file read, for messages
};

Error invalid(std::string_view origin, std::string_view detail) {
  return makeError(ErrorKind::kInvalid,
                   "kubeconfig " + std::string(origin) + ": " + std::string(detail));
}

// Kubeconfigs, certificates and tokens are small; a bound keeps a path to a device or a huge
// file from hanging or exhausting the loader.
constexpr int64_t kMaxFileBytes = 4 << 20;

Result<std::string> readWholeFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return makeError(ErrorKind::kInvalid, "cannot read " + path + ": " + strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return makeError(ErrorKind::kInvalid, path + " is not a regular file");
  if (st.st_size > kMaxFileBytes) return makeError(ErrorKind::kInvalid, path + " is too large");
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ErrorKind::kInvalid, "cannot read " + path + ": " + strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return makeError(ErrorKind::kInvalid, "cannot read " + path);
  return out.str();
}

// Names are quoted in errors only when they look like names: a broken file (an unclosed quote)
// can turn the rest of the document, credentials included, into one "name".
std::string quoted(std::string_view name) {
  bool plain = !name.empty() && name.size() <= 253;
  for (char c : name) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._@:/+", c));
  }
  return plain ? "\"" + std::string(name) + "\"" : std::string("(a malformed name)");
}

std::string directoryOf(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return slash == 0 ? "/" : std::string(path.substr(0, slash));
}

std::string resolvePath(std::string_view origin, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return directoryOf(origin) + "/" + path;
}

// A string field of a map node: absent or null gives "", anything but a scalar is an error.
Result<std::string> scalarField(const YAML::Node& map, const char* key, std::string_view where,
                                std::string_view origin) {
  const YAML::Node node = map[key];
  if (!node || node.IsNull()) return std::string();
  if (!node.IsScalar()) return invalid(origin, std::string(where) + "." + key + " is not a string");
  return node.Scalar();
}

Result<bool> boolField(const YAML::Node& map, const char* key, std::string_view where,
                       std::string_view origin) {
  auto text = scalarField(map, key, where, origin);
  if (!text) return text.error();
  if (text->empty() || *text == "false") return false;
  if (*text == "true") return true;
  return invalid(origin, std::string(where) + "." + key + " is not true or false");
}

// Visits the entries of a named list ("clusters", "users", "contexts"): each a map with a
// string "name" and a map under `inner`.
template <typename F>
Status forEachNamed(const YAML::Node& root, const char* list, const char* inner,
                    std::string_view origin, F&& visit) {
  const YAML::Node entries = root[list];
  if (!entries || entries.IsNull()) return Status::success();
  if (!entries.IsSequence()) return invalid(origin, std::string(list) + " is not a list");
  for (size_t i = 0; i < entries.size(); ++i) {
    const YAML::Node entry = entries[i];
    std::string where = std::string(list) + "[" + std::to_string(i) + "]";
    if (!entry.IsMap()) return invalid(origin, where + " is not a map");
    auto name = scalarField(entry, "name", where, origin);
    if (!name) return name.error();
    if (name->empty()) return invalid(origin, where + " has no name");
    where = std::string(list) + "[" + quoted(*name) + "]";
    const YAML::Node body = entry[inner];
    if (body && !body.IsNull() && !body.IsMap()) {
      return invalid(origin, where + "." + inner + " is not a map");
    }
    if (Status s = visit(*name, body ? body : YAML::Node(YAML::NodeType::Map), where); !s) {
      return s;
    }
  }
  return Status::success();
}

Result<ClusterEntry> readCluster(const YAML::Node& c, const std::string& where,
                                 std::string_view origin) {
  ClusterEntry e;
  e.origin = origin;
  const std::pair<const char*, std::string*> fields[] = {
      {"server", &e.server},
      {"certificate-authority", &e.ca_file},
      {"certificate-authority-data", &e.ca_data},
      {"tls-server-name", &e.tls_server_name},
      {"proxy-url", &e.proxy_url},
  };
  for (const auto& [key, out] : fields) {
    auto v = scalarField(c, key, where + ".cluster", origin);
    if (!v) return v.error();
    *out = std::move(v).value();
  }
  auto insecure = boolField(c, "insecure-skip-tls-verify", where + ".cluster", origin);
  if (!insecure) return insecure.error();
  e.insecure = *insecure;
  return e;
}

Result<UserEntry> readUser(const YAML::Node& u, const std::string& where, std::string_view origin) {
  UserEntry e;
  e.origin = origin;
  std::string key_data, token;
  const std::pair<const char*, std::string*> fields[] = {
      {"client-certificate", &e.cert_file},
      {"client-certificate-data", &e.cert_data},
      {"client-key", &e.key_file},
      {"client-key-data", &key_data},
      {"token", &token},
      {"tokenFile", &e.token_file},
  };
  for (const auto& [key, out] : fields) {
    auto v = scalarField(u, key, where + ".user", origin);
    if (!v) return v.error();
    *out = std::move(v).value();
  }
  e.key_data = SecretString(std::move(key_data));
  e.token = SecretString(std::move(token));
  for (const char* key : {"exec", "auth-provider", "username", "password"}) {
    const YAML::Node n = u[key];
    if (n && !n.IsNull() && e.refused.empty()) e.refused = key;
  }
  return e;
}

Status readDocument(const YAML::Node& root, std::string_view origin, Merged& into) {
  if (!root || root.IsNull()) return Status::success();  // an empty file adds nothing
  if (!root.IsMap()) return invalid(origin, "the document is not a map");
  Status s = forEachNamed(root, "clusters", "cluster", origin,
                          [&](const std::string& name, const YAML::Node& c, const std::string& w) {
                            auto e = readCluster(c, w, origin);
                            if (!e) return Status(e.error());
                            into.clusters.emplace(name, std::move(e).value());
                            return Status::success();
                          });
  if (!s) return s;
  s = forEachNamed(root, "users", "user", origin,
                   [&](const std::string& name, const YAML::Node& u, const std::string& w) {
                     auto e = readUser(u, w, origin);
                     if (!e) return Status(e.error());
                     into.users.emplace(name, std::move(e).value());
                     return Status::success();
                   });
  if (!s) return s;
  s = forEachNamed(
      root, "contexts", "context", origin,
      [&](const std::string& name, const YAML::Node& c, const std::string& w) {
        ContextEntry e;
        e.origin = origin;
        for (auto [key, out] : {std::pair{"cluster", &e.cluster}, std::pair{"user", &e.user},
                                std::pair{"namespace", &e.ns}}) {
          auto v = scalarField(c, key, w + ".context", origin);
          if (!v) return Status(v.error());
          *out = std::move(v).value();
        }
        into.contexts.emplace(name, std::move(e));
        return Status::success();
      });
  if (!s) return s;
  auto current = scalarField(root, "current-context", "", origin);
  if (!current) return current.error();
  if (into.current_context.empty()) into.current_context = *current;
  return Status::success();
}

// Parses one file's text into `into`; names already present are kept (the first file wins).
Status mergeText(std::string_view text, std::string_view origin, Merged& into) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    // The parser's message may quote the input; only the position is reported.
    return invalid(origin, "not valid YAML at line " + std::to_string(e.mark.line + 1) +
                               ", column " + std::to_string(e.mark.column + 1));
  } catch (const std::exception&) {
    return invalid(origin, "not valid YAML");
  }
  try {
    if (!into.origins.empty()) into.origins += ":";
    into.origins += origin;
    return readDocument(root, origin, into);
  } catch (const std::exception&) {
    return invalid(origin, "unexpected structure");
  }
}

// Bytes of a "-data" field (base64) or of a file, validated as PEM of the given kind.
Result<std::string> loadMaterial(const std::string& data, const std::string& file,
                                 std::string_view origin, const std::string& where,
                                 const char* data_key, const char* file_key) {
  if (!data.empty()) {
    auto decoded = pki::base64Decode(data);
    if (!decoded) return invalid(origin, where + "." + data_key + " is not valid base64");
    return std::move(decoded).value();
  }
  if (file.empty()) return std::string();
  std::string path = resolvePath(origin, file);
  auto bytes = readWholeFile(path);
  if (!bytes) return invalid(origin, where + "." + file_key + ": " + bytes.error().message);
  return std::move(bytes).value();
}

Status fillCluster(const ClusterEntry& c, const std::string& where, RestConfig& out) {
  if (c.server.empty()) return invalid(c.origin, where + ".server is empty");
  std::string server = c.server;
  while (!server.empty() && server.back() == '/') server.pop_back();
  size_t scheme_end = server.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : server.substr(0, scheme_end);
  if (scheme != "https" && scheme != "http") {
    return invalid(c.origin, where + ".server must start with https:// or http://");
  }
  std::string authority = server.substr(scheme_end + 3);
  if (authority.empty()) return invalid(c.origin, where + ".server has no host");
  if (authority.find_first_of("/?#") != std::string::npos) {
    return invalid(c.origin, where + ".server with a path is not supported");
  }
  if (authority.find_first_of(" \t\r\n\"\\") != std::string::npos) {
    return invalid(c.origin, where + ".server is not a URL");
  }
  if (!c.proxy_url.empty()) {
    return invalid(c.origin, where + ".proxy-url is set: proxies are not supported");
  }
  auto ca = loadMaterial(c.ca_data, c.ca_file, c.origin, where, "certificate-authority-data",
                         "certificate-authority");
  if (!ca) return ca.error();
  if (!ca->empty()) {
    auto certs = pki::parseCertificates(*ca, "the certificate authority");
    if (!certs)
      return invalid(c.origin, where + ": no PEM certificate in the certificate authority");
  }
  out.server = server;
  out.ca_pem = std::move(ca).value();
  out.tls_server_name = c.tls_server_name;
  out.insecure_skip_verify = c.insecure;
  return Status::success();
}

Status fillClientCertificate(const UserEntry& u, const std::string& where, RestConfig& out) {
  auto cert = loadMaterial(u.cert_data, u.cert_file, u.origin, where, "client-certificate-data",
                           "client-certificate");
  if (!cert) return cert.error();
  auto key = loadMaterial(u.key_data.reveal(), u.key_file, u.origin, where, "client-key-data",
                          "client-key");
  if (!key) return key.error();
  SecretString key_pem(std::move(key).value());
  if (cert->empty() != key_pem.empty()) {
    return invalid(u.origin, where + " has a client certificate or a key without the other");
  }
  if (cert->empty()) return Status::success();
  if (!pki::parseCertificates(*cert, "the client certificate")) {
    return invalid(u.origin, where + ": no PEM certificate in the client certificate");
  }
  if (!pki::parsePrivateKey(key_pem.reveal(), "the client key")) {
    return invalid(u.origin, where + ": the client key is not a PEM private key");
  }
  out.client_cert_pem = std::move(cert).value();
  out.client_key_pem = std::move(key_pem);
  return Status::success();
}

Status fillUser(const UserEntry& u, const std::string& where, RestConfig& out) {
  if (!u.refused.empty()) {
    return invalid(u.origin, where + "." + u.refused +
                                 " is not supported: use a client certificate, a token or a "
                                 "tokenFile");
  }
  if (Status s = fillClientCertificate(u, where, out); !s) return s;
  if (!u.token.empty()) {
    out.bearer_token = u.token;
    return Status::success();
  }
  if (u.token_file.empty()) return Status::success();
  auto file = std::make_shared<TokenFile>(resolvePath(u.origin, u.token_file));
  auto token = file->current();
  if (!token) return invalid(u.origin, where + ".tokenFile: " + token.error().message);
  out.token_file = std::move(file);
  return Status::success();
}

Result<RestConfig> resolve(const Merged& merged, std::string_view context_override) {
  std::string context =
      context_override.empty() ? merged.current_context : std::string(context_override);
  if (context.empty()) {
    return invalid(merged.origins, "no current-context is set and no context was given");
  }
  auto ctx = merged.contexts.find(context);
  if (ctx == merged.contexts.end()) {
    return invalid(merged.origins, "context " + quoted(context) + " is not defined");
  }
  const ContextEntry& c = ctx->second;
  std::string where = "contexts[" + quoted(context) + "]";
  auto cluster = merged.clusters.find(c.cluster);
  if (c.cluster.empty() || cluster == merged.clusters.end()) {
    return invalid(c.origin, where + ".context.cluster " + quoted(c.cluster) + " is not defined");
  }
  RestConfig out;
  out.context = context;
  if (!c.ns.empty()) out.default_namespace = c.ns;
  if (Status s = fillCluster(cluster->second, "clusters[" + quoted(c.cluster) + "].cluster", out);
      !s) {
    return s.error();
  }
  if (c.user.empty()) return out;
  auto user = merged.users.find(c.user);
  if (user == merged.users.end()) {
    return invalid(c.origin, where + ".context.user " + quoted(c.user) + " is not defined");
  }
  if (Status s = fillUser(user->second, "users[" + quoted(c.user) + "].user", out); !s) {
    return s.error();
  }
  return out;
}

std::vector<std::string> kubeconfigPaths(const LoadOptions& options) {
  if (!options.path.empty()) return {options.path};
  std::vector<std::string> paths;
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::stringstream list(env);
    std::string item;
    while (std::getline(list, item, ':')) {
      if (!item.empty()) paths.push_back(item);
    }
    return paths;
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    paths.push_back(std::string(home) + "/.kube/config");
  }
  return paths;
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<SecretString> TokenFile::current() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (!token_.empty() && now - checked_ < std::chrono::seconds(1)) return token_;
  checked_ = now;
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    if (!token_.empty()) return token_;
    return makeError(ErrorKind::kUnauthorized,
                     "token file " + path_ + ": cannot read: " + strerror(errno));
  }
  int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (!token_.empty() && mtime == seen_mtime_ns_ && st.st_size == seen_size_) return token_;
  auto text = readWholeFile(path_);
  if (!text) {
    if (!token_.empty()) return token_;
    return makeError(ErrorKind::kUnauthorized, "token file " + path_ + ": cannot read");
  }
  std::string value = std::move(text).value();
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  if (value.empty()) {
    if (!token_.empty()) return token_;
    return makeError(ErrorKind::kUnauthorized, "token file " + path_ + " is empty");
  }
  token_ = SecretString(std::move(value));
  seen_mtime_ns_ = mtime;
  seen_size_ = st.st_size;
  return token_;
}

void TokenFile::invalidate() {
  std::lock_guard lock(mu_);
  checked_ = {};
  seen_mtime_ns_ = -1;
}

net::ClientConfig RestConfig::toClientConfig() const {
  net::ClientConfig c;
  c.base_url = server;
  c.tls.ca_pem = ca_pem;
  c.tls.client_cert_pem = client_cert_pem;
  c.tls.client_key_pem = client_key_pem.reveal();
  c.tls.server_name = tls_server_name;
  c.tls.insecure_skip_verify = insecure_skip_verify;
  c.idle_timeout = timeout;
  c.user_agent = user_agent;
  return c;
}

Result<std::optional<SecretString>> RestConfig::authorization() const {
  if (token_file) {
    auto token = token_file->current();
    if (!token) return token.error();
    return std::optional<SecretString>(SecretString("Bearer " + token->reveal()));
  }
  if (bearer_token.empty()) return std::optional<SecretString>();
  return std::optional<SecretString>(SecretString("Bearer " + bearer_token.reveal()));
}

Result<RestConfig> parseKubeconfig(std::string_view text, std::string_view origin,
                                   std::string_view context) {
  Merged merged;
  if (Status s = mergeText(text, origin, merged); !s) return s.error();
  return resolve(merged, context);
}

Result<RestConfig> loadKubeconfig(const LoadOptions& options) {
  std::vector<std::string> paths = kubeconfigPaths(options);
  if (paths.empty()) {
    return makeError(ErrorKind::kInvalid, "no kubeconfig: neither KUBECONFIG nor HOME is set");
  }
  Merged merged;
  for (const std::string& path : paths) {
    // kubectl skips files in KUBECONFIG that do not exist; an explicit path must exist.
    if (options.path.empty() && !fileExists(path)) continue;
    auto text = readWholeFile(path);
    if (!text) return invalid(path, text.error().message);
    if (Status s = mergeText(*text, path, merged); !s) return s.error();
  }
  if (merged.origins.empty()) {
    return makeError(ErrorKind::kInvalid, "no kubeconfig file found (looked at " + paths.front() +
                                              (paths.size() > 1 ? " and others)" : ")"));
  }
  return resolve(merged, options.context);
}

Result<RestConfig> inClusterConfig(std::string_view root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return makeError(ErrorKind::kInvalid,
                     "not running in a cluster: KUBERNETES_SERVICE_HOST and "
                     "KUBERNETES_SERVICE_PORT are not set");
  }
  std::string dir(root);
  RestConfig out;
  std::string h(host);
  out.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  auto ca = readWholeFile(dir + "/ca.crt");
  if (!ca) return makeError(ErrorKind::kInvalid, "in-cluster CA: " + ca.error().message);
  if (!pki::parseCertificates(*ca, "the in-cluster CA")) {
    return makeError(ErrorKind::kInvalid, "in-cluster CA " + dir + "/ca.crt holds no certificate");
  }
  out.ca_pem = std::move(ca).value();
  out.token_file = std::make_shared<TokenFile>(dir + "/token");
  if (auto token = out.token_file->current(); !token) return token.error();
  if (auto ns = readWholeFile(dir + "/namespace"); ns && !ns->empty()) {
    std::string value = std::move(ns).value();
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
      value.pop_back();
    }
    out.default_namespace = value;
  }
  return out;
}

}  // namespace su::kube
