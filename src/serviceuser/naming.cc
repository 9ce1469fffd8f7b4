#include "serviceuser/naming.h"

#include <cctype>

namespace su::serviceuser {
namespace {

constexpr size_t kMaxBase = 64;

bool allowed(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '_';
}

}  // namespace

std::string friendlyNameBase(const ServiceUser& su) {
  std::string raw = su.spec.friendly_name.empty() ? su.meta.namespace_name + "-" + su.meta.name
                                                  : su.spec.friendly_name;
  std::string out;
  for (char c : raw) out.push_back(allowed(c) ? c : '-');
  if (out.size() > kMaxBase) out.resize(kMaxBase);
  return out;
}

std::string friendlyNameFor(const std::string& base, int64_t revision) {
  return base + "-r" + std::to_string(revision);
}

int64_t revisionOf(const std::string& base, const std::string& friendly_name) {
  std::string prefix = base + "-r";
  if (friendly_name.size() <= prefix.size() || friendly_name.rfind(prefix, 0) != 0) return 0;
  int64_t revision = 0;
  for (size_t i = prefix.size(); i < friendly_name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(friendly_name[i]))) return 0;
    if (revision > (INT64_MAX - 9) / 10) return 0;
    revision = revision * 10 + (friendly_name[i] - '0');
  }
  return revision;
}

}  // namespace su::serviceuser
