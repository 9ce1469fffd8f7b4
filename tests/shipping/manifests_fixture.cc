#include "shipping/manifests_fixture.h"

#include <cstdlib>
#include <sstream>

#include "support/process.h"

namespace su::testing::shipping {

std::string chartDir() { return sourceDir() + "/charts/serviceuser-operator"; }
std::string operatorDir() { return sourceDir() + "/operator"; }

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string helmBinary(std::string* error) {
  if (const char* path = std::getenv("SU_HELM"); path != nullptr && *path != '\0') return path;
  static const Output built = runSplit(sourceDir() + "/tools/helm/build.sh");
  std::string path = trimmed(built.stdout_text);
  if (built.exit_code != 0 || path.empty()) {
    *error = "building helm failed: " + built.diagnostics;
    return {};
  }
  return path.substr(path.rfind('\n') + 1);
}

Output runSplit(const std::string& command) {
  std::string dir = makeTempDir("su-ship-run");
  std::string out = dir + "/stdout";
  CommandResult r = runCommand("{ " + command + " ; } >" + out);
  Output result{r.exit_code, readFile(out), r.output};
  removeTree(dir);
  return result;
}

Output helmTemplate(const std::string& release, const std::string& ns,
                    const std::vector<std::string>& sets, bool include_crds) {
  std::string error;
  std::string helm = helmBinary(&error);
  if (helm.empty()) return Output{-1, "", error};
  std::string command = helm + " template " + release + " " + chartDir() + " --namespace " + ns;
  if (include_crds) command += " --include-crds";
  for (const auto& s : sets) command += " --set " + quoted(s);
  return runSplit(command);
}

std::vector<YAML::Node> parseDocuments(const std::string& text) {
  std::vector<YAML::Node> docs;
  for (const auto& doc : YAML::LoadAll(text)) {
    if (doc.IsMap()) docs.push_back(doc);
  }
  return docs;
}

std::vector<YAML::Node> documentsOfKind(const std::vector<YAML::Node>& docs,
                                        const std::string& kind) {
  std::vector<YAML::Node> out;
  for (const auto& d : docs) {
    if (d["kind"] && d["kind"].as<std::string>() == kind) out.push_back(d);
  }
  return out;
}

std::string withoutKinds(const std::vector<YAML::Node>& docs,
                         const std::vector<std::string>& kinds) {
  std::ostringstream out;
  for (const auto& d : docs) {
    std::string kind = d["kind"] ? d["kind"].as<std::string>() : "";
    bool dropped = false;
    for (const auto& k : kinds) dropped = dropped || k == kind;
    if (!dropped) out << "---\n" << YAML::Dump(d) << "\n";
  }
  return out.str();
}

std::string writeTempFile(const std::string& dir, const std::string& name,
                          const std::string& text) {
  std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return {};
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

std::string canI(const ControlPlane& cp, const std::string& sa_namespace, const std::string& sa,
                 const std::string& verb, const std::string& resource,
                 const std::string& in_namespace) {
  std::string command = cp.kubectl() + " auth can-i " + verb + " " + resource +
                        " --as=system:serviceaccount:" + sa_namespace + ":" + sa;
  command += in_namespace.empty() ? " --all-namespaces" : " -n " + in_namespace;
  return trimmed(runSplit(command).stdout_text);
}

const std::vector<Permission>& clusterWidePermissions() {
  static const std::vector<Permission> kNeeded = [] {
    std::vector<Permission> p;
    auto add = [&p](const std::string& resource, std::vector<std::string> verbs) {
      for (auto& v : verbs) p.push_back({v, resource});
    };
    const std::string g = ".identity.serviceuser.dev";
    add("serviceusers" + g, {"get", "list", "watch", "update", "patch"});
    add("serviceusers" + g + "/status", {"get", "update", "patch"});
    add("serviceusers" + g + "/finalizers", {"update"});
    add("digicertissuers" + g, {"get", "list", "watch"});
    add("clusterdigicertissuers" + g, {"get", "list", "watch"});
    add("digicertissuers" + g + "/status", {"get", "update", "patch"});
    add("clusterdigicertissuers" + g + "/status", {"get", "update", "patch"});
    add("secrets", {"get", "list", "watch", "create", "update", "patch", "delete"});
    add("events.events.k8s.io", {"create", "patch", "update"});
    add("events", {"create", "patch"});
    return p;
  }();
  return kNeeded;
}

const std::vector<Permission>& leasePermissions() {
  static const std::vector<Permission> kNeeded = [] {
    std::vector<Permission> p;
    for (const char* v : {"get", "list", "watch", "create", "update", "patch", "delete"}) {
      p.push_back({v, "leases.coordination.k8s.io"});
    }
    return p;
  }();
  return kNeeded;
}

}  // namespace su::testing::shipping
