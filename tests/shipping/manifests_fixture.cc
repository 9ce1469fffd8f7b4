#include "shipping/manifests_fixture.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
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

std::string operatorBinary() {
  if (const char* path = std::getenv("SU_OPERATOR_BINARY"); path != nullptr && *path != '\0') {
    return path;
  }
  return binaryDir() + "/src/serviceuser-operator";
}

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
  std::string err = dir + "/stderr";
  // runCommand sends the whole command's stderr to its output; the subshell keeps them apart.
  CommandResult r = runCommand("( { " + command + " ; } >" + out + " 2>" + err + " )");
  Output result{r.exit_code, readFile(out), readFile(err) + r.output};
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
  // "serviceusers/status" has to go in as --subresource: can-i reads "<resource>/<x>" as a
  // resource and an object name.
  std::string subresource;
  std::string plain = resource;
  if (auto slash = resource.find('/'); slash != std::string::npos) {
    plain = resource.substr(0, slash);
    subresource = " --subresource=" + resource.substr(slash + 1);
  }
  std::string command = cp.kubectl() + " auth can-i " + verb + " " + plain + subresource +
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

namespace su::testing::shipping {
namespace {

using PermissionTable = std::map<std::string, std::set<std::string>>;

std::set<std::string> splitVerbs(std::string text) {
  std::set<std::string> verbs;
  std::istringstream in(text.substr(1, text.size() - 2));  // "[get list]"
  for (std::string v; in >> v;) verbs.insert(v);
  return verbs;
}

// Resource rows of `kubectl auth can-i --list`: resource -> verbs.
PermissionTable listPermissions(const ControlPlane& cp, const std::string& user,
                                const std::string& ns) {
  Output out = runSplit(cp.kubectl() + " auth can-i --list --as=" + user + " -n " + ns);
  EXPECT_EQ(out.exit_code, 0) << out.diagnostics;
  PermissionTable table;
  std::istringstream lines(out.stdout_text);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == ' ') continue;  // non-resource URLs
    std::istringstream words(line);
    std::string resource, urls, names, verbs;
    words >> resource >> urls >> names;
    std::getline(words, verbs);
    verbs = verbs.substr(verbs.find('['));
    for (const auto& v : splitVerbs(verbs)) table[resource].insert(v);
  }
  return table;
}

}  // namespace

void expectExactlyTheOperatorsPermissions(const ControlPlane& cp, const std::string& sa_namespace,
                                          const std::string& sa,
                                          const std::string& lease_namespace) {
  const std::string user = "system:serviceaccount:" + sa_namespace + ":" + sa;

  for (const auto& p : clusterWidePermissions()) {
    EXPECT_EQ(canI(cp, sa_namespace, sa, p.verb, p.resource, ""), "yes")
        << p.verb << " " << p.resource << " in every namespace";
  }
  for (const auto& p : leasePermissions()) {
    EXPECT_EQ(canI(cp, sa_namespace, sa, p.verb, p.resource, lease_namespace), "yes")
        << p.verb << " " << p.resource << " in " << lease_namespace;
    EXPECT_EQ(canI(cp, sa_namespace, sa, p.verb, p.resource, "kube-system"), "no")
        << p.verb << " " << p.resource << " outside the operator's namespace";
  }

  struct Forbidden {
    const char* verb;
    const char* resource;
  };
  for (const Forbidden& f : std::vector<Forbidden>{
           {"create", "serviceusers.identity.serviceuser.dev"},
           {"delete", "serviceusers.identity.serviceuser.dev"},
           {"update", "digicertissuers.identity.serviceuser.dev"},
           {"delete", "clusterdigicertissuers.identity.serviceuser.dev"},
           {"update", "customresourcedefinitions.apiextensions.k8s.io"},
           {"create", "pods/exec"},
           {"get", "pods"},
           {"patch", "nodes"},
           {"get", "configmaps"},
           {"create", "serviceaccounts/token"},
           {"create", "clusterrolebindings.rbac.authorization.k8s.io"},
           {"escalate", "clusterroles.rbac.authorization.k8s.io"},
           {"impersonate", "users"},
           {"delete", "events"},
           {"create", "namespaces"},
       }) {
    EXPECT_EQ(canI(cp, sa_namespace, sa, f.verb, f.resource, ""), "no")
        << f.verb << " " << f.resource << " must be refused";
  }

  // Nothing more: what the ServiceAccount may do, minus what any ServiceAccount may do, is
  // exactly the list above.
  const std::string baseline_sa = "baseline-" + sa;
  runCommand(cp.kubectl() + " -n " + sa_namespace + " create serviceaccount " + baseline_sa);
  for (const std::string& ns : {lease_namespace, std::string("kube-system")}) {
    PermissionTable granted = listPermissions(cp, user, ns);
    PermissionTable baseline =
        listPermissions(cp, "system:serviceaccount:" + sa_namespace + ":" + baseline_sa, ns);
    PermissionTable extra;
    for (const auto& [resource, verbs] : granted) {
      for (const auto& v : verbs) {
        if (!baseline[resource].count(v)) extra[resource].insert(v);
      }
    }
    PermissionTable expected;
    for (const auto& p : clusterWidePermissions()) expected[p.resource].insert(p.verb);
    if (ns == lease_namespace) {
      for (const auto& p : leasePermissions()) expected[p.resource].insert(p.verb);
    }
    EXPECT_EQ(extra, expected) << "permissions of " << user << " in " << ns;
  }
  runCommand(cp.kubectl() + " -n " + sa_namespace + " delete serviceaccount " + baseline_sa);
}

void expectNoWildcards(const YAML::Node& role) {
  ASSERT_TRUE(role["rules"].IsSequence());
  for (const auto& rule : role["rules"]) {
    for (const char* field : {"apiGroups", "resources", "verbs"}) {
      for (const auto& item : rule[field]) {
        EXPECT_NE(item.as<std::string>(), "*")
            << role["kind"].as<std::string>() << " " << role["metadata"]["name"].as<std::string>()
            << " uses a wildcard in " << field;
      }
    }
    EXPECT_FALSE(rule["nonResourceURLs"]) << "the operator needs no non-resource URLs";
  }
}

void expectHardenedDeployment(const YAML::Node& deployment) {
  const YAML::Node pod = deployment["spec"]["template"]["spec"];
  ASSERT_TRUE(pod.IsMap());
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"].as<std::string>(""), "true");
  EXPECT_NE(pod["securityContext"]["runAsUser"].as<std::string>("0"), "0");
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"].as<std::string>(""), "RuntimeDefault");
  EXPECT_TRUE(pod["serviceAccountName"]);

  ASSERT_EQ(pod["containers"].size(), 1u);
  const YAML::Node c = pod["containers"][0];
  const YAML::Node sc = c["securityContext"];
  EXPECT_EQ(sc["readOnlyRootFilesystem"].as<std::string>(""), "true");
  EXPECT_EQ(sc["allowPrivilegeEscalation"].as<std::string>(""), "false");
  EXPECT_EQ(sc["runAsNonRoot"].as<std::string>(""), "true");
  EXPECT_NE(sc["privileged"].as<std::string>("false"), "true");
  ASSERT_TRUE(sc["capabilities"]["drop"].IsSequence());
  EXPECT_EQ(sc["capabilities"]["drop"][0].as<std::string>(""), "ALL");
  EXPECT_FALSE(sc["capabilities"]["add"]);

  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(""), "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(""), "/readyz");
  std::map<std::string, int> ports;
  for (const auto& p : c["ports"])
    ports[p["name"].as<std::string>()] = p["containerPort"].as<int>();
  EXPECT_EQ(ports["health"], 8081);
  EXPECT_EQ(ports["metrics"], 8080);
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<std::string>(""), "health");
  EXPECT_TRUE(c["resources"]["requests"]["cpu"]);
  EXPECT_TRUE(c["resources"]["requests"]["memory"]);
  EXPECT_TRUE(c["resources"]["limits"]["memory"]);

  std::set<std::string> args;
  for (const auto& a : c["args"]) args.insert(a.as<std::string>());
  EXPECT_TRUE(args.count("--leader-elect"));
  EXPECT_TRUE(args.count("--health-probe-bind-address=:8081"));
  EXPECT_TRUE(args.count("--metrics-bind-address=:8080"));
  bool has_pod_namespace = false;
  for (const auto& e : c["env"]) {
    has_pod_namespace = has_pod_namespace || (e["name"].as<std::string>() == "POD_NAMESPACE" &&
                                              e["valueFrom"]["fieldRef"]["fieldPath"]);
  }
  EXPECT_TRUE(has_pod_namespace) << "the Lease namespace defaults to POD_NAMESPACE";
  EXPECT_FALSE(pod["volumes"]) << "the operator needs no writable volume";
}

}  // namespace su::testing::shipping
