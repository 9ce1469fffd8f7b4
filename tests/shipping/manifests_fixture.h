#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "support/control_plane.h"

namespace su::testing::shipping {

// The repository's chart, plain manifests and tools.
std::string chartDir();
std::string operatorDir();

// The operator program: SU_OPERATOR_BINARY, or the one in this build tree.
std::string operatorBinary();

// Path of the pinned Helm (SU_HELM, or built and cached by tools/helm/build.sh); empty with a
// message in `error` when it cannot be had.
std::string helmBinary(std::string* error);

// A command's stdout only (stderr goes to `diagnostics`), so YAML stays parseable when a tool
// prints warnings.
struct Output {
  int exit_code = -1;
  std::string stdout_text;
  std::string diagnostics;
};
Output runSplit(const std::string& command);

// `helm template` of the chart as release `release` in `ns`, with `--set` style pairs.
Output helmTemplate(const std::string& release, const std::string& ns,
                    const std::vector<std::string>& sets, bool include_crds = false);

// The documents of a multi-document YAML stream, empty ones dropped.
std::vector<YAML::Node> parseDocuments(const std::string& text);
// The documents of `kind`.
std::vector<YAML::Node> documentsOfKind(const std::vector<YAML::Node>& docs,
                                        const std::string& kind);
// The stream again without the documents of the given kinds.
std::string withoutKinds(const std::vector<YAML::Node>& docs,
                         const std::vector<std::string>& kinds);

std::string writeTempFile(const std::string& dir, const std::string& name, const std::string& text);

// `kubectl auth can-i` as the ServiceAccount; "yes" or "no" (or an error text).
std::string canI(const ControlPlane& cp, const std::string& sa_namespace, const std::string& sa,
                 const std::string& verb, const std::string& resource,
                 const std::string& in_namespace);

// What the operator needs, as (verb, resource) pairs, cluster-wide and in its Lease namespace.
struct Permission {
  std::string verb;
  std::string resource;
};
const std::vector<Permission>& clusterWidePermissions();
const std::vector<Permission>& leasePermissions();

// Checks, with gtest expectations, that the ServiceAccount `sa_namespace/sa` may do everything in
// clusterWidePermissions() in every namespace and leasePermissions() in `lease_namespace`, and
// that `kubectl auth can-i --list` shows nothing beyond that and what every ServiceAccount gets.
void expectExactlyTheOperatorsPermissions(const ControlPlane& cp, const std::string& sa_namespace,
                                          const std::string& sa,
                                          const std::string& lease_namespace);

// Checks that the rules of a rendered ClusterRole or Role use no wildcards.
void expectNoWildcards(const YAML::Node& role);

// Checks the Deployment's pod and container hardening, probes, ports and resources.
void expectHardenedDeployment(const YAML::Node& deployment);

}  // namespace su::testing::shipping
