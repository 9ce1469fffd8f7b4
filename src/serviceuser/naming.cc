#include "serviceuser/naming.h"

#include <cctype>

#include "pki/digest.h"

namespace su::serviceuser {
namespace {

// DigiCert ONE does not publish a length limit; 64 characters is what the simulator enforces
// and the whole name stays within it: up to 43 readable characters, "-" and 8 hex digits of the
// ServiceUser's UID, then "-r" and up to 10 digits of revision.
constexpr size_t kMaxReadable = 43;

bool allowed(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '_';
}

std::string uidDigest(const ServiceUser& su) { return pki::sha256Hex(su.meta.uid).substr(0, 8); }

}  // namespace

// The UID digest makes every ServiceUser's names its own: two ServiceUsers with the same
// friendlyName, or whose namespace and name read alike ("a-b"/"c" and "a"/"b-c"), never share a
// name, so neither can take the other's identity for its own.
std::string friendlyNameBase(const ServiceUser& su) {
  std::string raw = su.spec.friendly_name.empty() ? su.meta.namespace_name + "-" + su.meta.name
                                                  : su.spec.friendly_name;
  std::string out;
  for (char c : raw) out.push_back(allowed(c) ? c : '-');
  if (out.size() > kMaxReadable) out.resize(kMaxReadable);
  return out + "-" + uidDigest(su);
}

bool namesRevisionOf(const ServiceUser& su, const std::string& friendly_name, int64_t revision) {
  std::string suffix = "-" + uidDigest(su) + "-r" + std::to_string(revision);
  if (friendly_name.size() <= suffix.size() || friendly_name.size() > kMaxReadable + suffix.size())
    return false;
  size_t readable = friendly_name.size() - suffix.size();
  for (size_t i = 0; i < readable; ++i) {
    if (!allowed(friendly_name[i])) return false;
  }
  return friendly_name.compare(readable, suffix.size(), suffix) == 0;
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
