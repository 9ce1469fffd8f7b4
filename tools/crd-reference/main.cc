// crd-reference: writes the field reference of the CustomResourceDefinitions in crds/ as
// Markdown, or checks that a file holds exactly what would be written.
//
//   crd-reference --write docs/reference.md crds
//   crd-reference --check docs/reference.md crds
//
// The CRDs are read in the order of the folder's kustomization.yaml.
//
// Everything in the reference comes from the schema (descriptions, types, required fields, enums,
// bounds and the messages of the CEL rules), so a field added to a CRD without a description, or
// a reference that was not regenerated, fails the check.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int kExitUsage = 2;

struct Problems {
  std::vector<std::string> list;
  void add(const std::string& p) { list.push_back(p); }
};

std::string scalar(const YAML::Node& node, const std::string& key) {
  const YAML::Node v = node[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// One line, with the characters that would break a table cell escaped.
std::string cell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += ' ';
    } else if (c == '|') {
      out += "\\|";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string join(const YAML::Node& list, const std::string& sep, bool code) {
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += sep;
    out += code ? "`" + item.as<std::string>() + "`" : item.as<std::string>();
  }
  return out;
}

std::string typeOf(const YAML::Node& schema) {
  std::string type = scalar(schema, "type");
  std::string format = scalar(schema, "format");
  if (type == "array" && schema["items"]) {
    std::string item = scalar(schema["items"], "type");
    return "array of " + (item == "object" ? std::string("objects") : item + "s");
  }
  if (type == "object" && schema["additionalProperties"] && !schema["properties"]) {
    return "map of " + scalar(schema["additionalProperties"], "type") + "s";
  }
  return format.empty() ? type : type + " (" + format + ")";
}

// "1 to 64 characters", "at most 16 characters", "at least 0"; empty without bounds.
std::string range(const YAML::Node& schema, const std::string& min_key, const std::string& max_key,
                  const std::string& unit) {
  std::string min = scalar(schema, min_key), max = scalar(schema, max_key);
  if (min.empty() && max.empty()) return {};
  if (min.empty()) return "at most " + max + unit;
  if (max.empty()) return "at least " + min + unit;
  return min + " to " + max + unit;
}

// The schema's bounds and rules, in words.
std::string constraints(const YAML::Node& schema) {
  std::vector<std::string> parts;
  if (schema["enum"]) parts.push_back("one of " + join(schema["enum"], ", ", true));
  if (std::string r = range(schema, "minLength", "maxLength", " characters"); !r.empty()) {
    parts.push_back(r);
  }
  if (std::string r = range(schema, "minItems", "maxItems", " items"); !r.empty()) {
    parts.push_back(r);
  }
  if (schema["maxProperties"]) {
    parts.push_back("at most " + scalar(schema, "maxProperties") + " entries");
  }
  if (std::string r = range(schema, "minimum", "maximum", ""); !r.empty()) parts.push_back(r);
  if (schema["pattern"]) parts.push_back("matches `" + scalar(schema, "pattern") + "`");
  std::string list_type = scalar(schema, "x-kubernetes-list-type");
  if (list_type == "set") parts.push_back("no duplicates");
  if (list_type == "map" && schema["x-kubernetes-list-map-keys"]) {
    parts.push_back("keyed by " + join(schema["x-kubernetes-list-map-keys"], ", ", true));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  if (!out.empty()) out = "*" + out + ".*";
  if (const YAML::Node rules = schema["x-kubernetes-validations"]) {
    std::string messages;
    for (const auto& rule : rules) {
      std::string message = scalar(rule, "message");
      if (!message.empty()) messages += (messages.empty() ? "" : " / ") + ("\"" + message + "\"");
    }
    if (!messages.empty()) out += (out.empty() ? "" : " ") + ("Refused with " + messages + ".");
  }
  return out;
}

bool isRequired(const YAML::Node& parent, const std::string& name) {
  const YAML::Node required = parent["required"];
  if (!required) return false;
  for (const auto& r : required) {
    if (r.as<std::string>() == name) return true;
  }
  return false;
}

void fields(const YAML::Node& schema, const std::string& prefix, std::ostream& out,
            Problems& problems) {
  const YAML::Node properties = schema["properties"];
  if (!properties) return;
  for (const auto& entry : properties) {
    std::string name = entry.first.as<std::string>();
    const YAML::Node& child = entry.second;
    std::string path = prefix.empty() ? name : prefix + "." + name;
    std::string description = cell(scalar(child, "description"));
    bool condition_field =
        prefix.size() >= 13 && prefix.compare(prefix.size() - 13, 13, ".conditions[]") == 0;
    if (description.empty() && !condition_field) {
      problems.add("field " + path + " has no description in the CRD");
    }
    std::string rules = constraints(child);
    if (!rules.empty()) description += (description.empty() ? "" : " ") + cell(rules);
    out << "| `" << path << "` | " << typeOf(child) << " | "
        << (isRequired(schema, name) ? "yes" : "") << " | " << description << " |\n";
    if (child["properties"]) fields(child, path, out, problems);
    if (scalar(child, "type") == "array" && child["items"] && child["items"]["properties"]) {
      fields(child["items"], path + "[]", out, problems);
    }
  }
}

void kind(const YAML::Node& crd, std::ostream& out, Problems& problems) {
  const YAML::Node spec = crd["spec"];
  const YAML::Node names = spec["names"];
  std::string kind = scalar(names, "kind");
  out << "## " << kind << "\n\n";
  for (const auto& version : spec["versions"]) {
    const YAML::Node schema = version["schema"]["openAPIV3Schema"];
    out << "`" << scalar(spec, "group") << "/" << scalar(version, "name") << "`, "
        << (scalar(spec, "scope") == "Cluster" ? "cluster-scoped" : "namespaced");
    if (names["shortNames"]) out << ", short name " << join(names["shortNames"], ", ", true);
    out << ". " << cell(scalar(schema, "description")) << "\n\n";
    if (const YAML::Node columns = version["additionalPrinterColumns"]) {
      out << "`kubectl get` shows: ";
      std::string list;
      for (const auto& c : columns) {
        list +=
            (list.empty() ? "" : ", ") + scalar(c, "name") + " (`" + scalar(c, "jsonPath") + "`)";
      }
      out << list << ".\n\n";
    }
    out << "| Field | Type | Required | Description |\n|---|---|---|---|\n";
    for (const char* part : {"spec", "status"}) {
      const YAML::Node node = schema["properties"][part];
      if (!node) continue;
      out << "| `" << part << "` | object | " << (isRequired(schema, part) ? "yes" : "") << " | "
          << cell(scalar(node, "description"));
      std::string rules = constraints(node);
      if (!rules.empty()) out << " " << cell(rules);
      out << " |\n";
      fields(node, part, out, problems);
    }
    out << "\n";
  }
}

// The CRD files of a folder, in the order its kustomization.yaml lists them.
std::vector<std::string> crdFiles(const std::string& folder, Problems& problems) {
  std::vector<std::string> out;
  try {
    YAML::Node kustomization = YAML::LoadFile(folder + "/kustomization.yaml");
    for (const auto& r : kustomization["resources"])
      out.push_back(folder + "/" + r.as<std::string>());
  } catch (const YAML::Exception& e) {
    problems.add(folder + "/kustomization.yaml: " + e.what());
  }
  return out;
}

std::string render(const std::string& folder, Problems& problems) {
  std::ostringstream out;
  out << "# API reference\n\n"
      << "<!-- Generated from the CRDs in crds/ by tools/crd-reference; do not edit. Regenerate "
         "with:\n     build/tests/crd-reference --write docs/reference.md crds -->\n\n"
      << "Every field of the custom resources, as the API server validates it. The same text is "
         "shown by `kubectl explain` (for example `kubectl explain serviceuser.spec.lifetime`). "
         "Durations are written in hours, minutes and seconds such as `2160h` or `90m`; dates "
         "as `YYYY-MM-DD` in UTC. A manifest that breaks a rule below is refused by "
         "`kubectl apply` with the quoted message. Examples are in `samples/`.\n\n";
  for (const auto& path : crdFiles(folder, problems)) {
    try {
      for (const auto& doc : YAML::LoadAllFromFile(path)) {
        if (scalar(doc, "kind") == "CustomResourceDefinition") kind(doc, out, problems);
      }
    } catch (const YAML::Exception& e) {
      problems.add(path + ": " + e.what());
    }
  }
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::string(argv[1]) != "--write" && std::string(argv[1]) != "--check")) {
    std::cerr << "usage: crd-reference --write|--check REFERENCE.md CRD_FOLDER\n";
    return kExitUsage;
  }
  bool write = std::string(argv[1]) == "--write";
  std::string target = argv[2];

  Problems problems;
  std::string wanted = render(argv[3], problems);
  for (const auto& p : problems.list) std::cerr << "crd-reference: " << p << "\n";
  if (!problems.list.empty()) return 1;

  if (write) {
    std::ofstream(target) << wanted;
    return 0;
  }
  std::ifstream in(target);
  std::stringstream have;
  have << in.rdbuf();
  if (have.str() == wanted) return 0;
  std::cerr << "crd-reference: " << target
            << " does not match the CRDs; regenerate it with\n  crd-reference --write " << target
            << " crds\nFirst difference:\n";
  std::istringstream a(have.str()), b(wanted);
  std::string la, lb;
  for (int line = 1;; ++line) {
    bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) break;
    if (!ga || !gb || la != lb) {
      std::cerr << "  line " << line << " has:  " << (ga ? la : "(end of file)") << "\n"
                << "  line " << line << " want: " << (gb ? lb : "(end of file)") << "\n";
      break;
    }
  }
  return 1;
}
