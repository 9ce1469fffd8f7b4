// GitOps drift: a schema default under spec would be stored by the API server and differ from
// Git for ever. The operator applies its defaults when it reads the spec instead.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/control_plane.h"

namespace su::testing {
namespace {

// Paths of every `default` key in a schema, e.g. ".spec.lifetime.duration".
void findDefaults(const YAML::Node& schema, const std::string& path,
                  std::vector<std::string>* found) {
  if (!schema || !schema.IsMap()) return;
  if (schema["default"]) found->push_back(path);
  if (schema["properties"] && schema["properties"].IsMap()) {
    for (const auto& p : schema["properties"]) {
      findDefaults(p.second, path + "." + p.first.as<std::string>(), found);
    }
  }
  if (schema["items"]) findDefaults(schema["items"], path + "[]", found);
  if (schema["additionalProperties"] && schema["additionalProperties"].IsMap()) {
    findDefaults(schema["additionalProperties"], path + ".*", found);
  }
}

std::vector<std::string> specDefaults(const YAML::Node& crd) {
  std::vector<std::string> found;
  for (const auto& version : crd["spec"]["versions"]) {
    findDefaults(version["schema"]["openAPIV3Schema"]["properties"]["spec"], ".spec", &found);
  }
  return found;
}

TEST(CrdSchemas, FindDefaultsNestedAnywhereUnderSpec) {
  YAML::Node crd = YAML::Load(R"(
spec:
  versions:
    - schema:
        openAPIV3Schema:
          properties:
            spec:
              properties:
                lifetime:
                  properties:
                    duration: {type: string, default: 2160h}
                access:
                  items:
                    properties:
                      roles: {type: array, default: []}
)");
  EXPECT_EQ(specDefaults(crd),
            (std::vector<std::string>{".spec.lifetime.duration", ".spec.access[].roles"}));
}

TEST(CrdSchemas, DeclareNoDefaultsUnderSpec) {
  int crds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(sourceDir() + "/crds")) {
    if (entry.path().filename() == "kustomization.yaml") continue;
    YAML::Node crd = YAML::LoadFile(entry.path().string());
    ASSERT_EQ(crd["kind"].as<std::string>(), "CustomResourceDefinition") << entry.path();
    ++crds;
    EXPECT_EQ(specDefaults(crd), std::vector<std::string>{})
        << entry.path().filename() << " defaults spec fields";
  }
  EXPECT_EQ(crds, 3);
}

}  // namespace
}  // namespace su::testing
