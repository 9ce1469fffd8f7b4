#include "serviceuser/issuers.h"

#include "pki/pem.h"

namespace su::serviceuser {
namespace {

Error userError(const std::string& message) { return makeError(ErrorKind::kInvalid, message); }

Result<std::string> secretValue(kube::Client& client, const SecretRef& ref,
                                const std::string& key) {
  auto secret = client.get(kube::kSecrets, ref.namespace_name, ref.name);
  if (!secret) {
    if (secret.error().kind == ErrorKind::kNotFound) {
      return userError("issuer credentials Secret " + ref.namespace_name + "/" + ref.name +
                       " does not exist");
    }
    return secret.error();
  }
  auto encoded = json::getString(
      json::find(*secret, "data") ? *json::find(*secret, "data") : json::Json::object(), key);
  if (!encoded || encoded->empty()) {
    return userError("issuer credentials Secret " + ref.namespace_name + "/" + ref.name +
                     " has no key \"" + key + "\"");
  }
  auto decoded = pki::base64Decode(*encoded);
  if (!decoded) {
    return userError("issuer credentials Secret " + ref.name + " key " + key + " is not base64");
  }
  std::string value = std::move(decoded).value();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  return value;
}

}  // namespace

IssuerResolver::IssuerResolver(kube::Client& client, kube::Informer& issuers,
                               kube::Informer& cluster_issuers, const Clock& clock, Options options)
    : client_(client),
      issuers_(issuers),
      cluster_issuers_(cluster_issuers),
      clock_(clock),
      options_(std::move(options)) {}

Result<digicert::ClientOptions> IssuerResolver::clientOptions(const IssuerSpec& spec) {
  digicert::ClientOptions opts;
  opts.base_url = spec.url;
  opts.ca_pem = spec.ca_bundle;
  opts.user_agent = options_.user_agent;
  opts.budget = spec.budget.empty() ? options_.default_budget : spec.budget;
  if (spec.token_field) {
    opts.compat.token_fields.insert(opts.compat.token_fields.begin(), *spec.token_field);
  }
  if (spec.duplicate_status) opts.compat.duplicate_statuses = {*spec.duplicate_status};
  if (spec.page_size) opts.compat.page_size = *spec.page_size;
  if (spec.api_key) {
    auto key = secretValue(client_, *spec.api_key, spec.api_key->key);
    if (!key) return key.error();
    opts.api_key = SecretString(std::move(key).value());
    return opts;
  }
  auto cert = secretValue(client_, *spec.client_certificate, "tls.crt");
  if (!cert) return cert.error();
  auto key = secretValue(client_, *spec.client_certificate, "tls.key");
  if (!key) return key.error();
  opts.client_cert_pem = std::move(cert).value();
  opts.client_key_pem = SecretString(std::move(key).value());
  opts.base_url = digicert::clientAuthUrl(spec.url);
  return opts;
}

Result<digicert::ClientOptions> IssuerResolver::optionsFor(const json::Json& issuer) {
  auto spec = parseIssuerSpec(issuer, json::stringAt(issuer, {"metadata", "namespace"}));
  if (!spec) return spec.error();
  return clientOptions(*spec);
}

Result<std::shared_ptr<digicert::AccountManager>> IssuerResolver::forServiceUser(
    const ServiceUser& su) {
  bool cluster = su.spec.issuer_ref.kind == "ClusterDigiCertIssuer";
  std::string key =
      cluster ? su.spec.issuer_ref.name : su.meta.namespace_name + "/" + su.spec.issuer_ref.name;
  kube::ObjectPtr issuer = (cluster ? cluster_issuers_ : issuers_).get(key);
  if (!issuer) {
    return userError(su.spec.issuer_ref.kind + " " + su.spec.issuer_ref.name +
                     " (spec.issuerRef) does not exist");
  }
  std::string version = json::stringAt(*issuer, {"metadata", "resourceVersion"});
  std::string cache_key = (cluster ? "cluster/" : "ns/") + key;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end() && it->second.issuer_version == version &&
        clock_.now() - it->second.built_at < options_.credentials_ttl) {
      return it->second.manager;
    }
  }
  auto spec = parseIssuerSpec(*issuer, su.meta.namespace_name);
  if (!spec) return userError(su.spec.issuer_ref.kind + " " + key + ": " + spec.error().message);
  auto opts = clientOptions(*spec);
  if (!opts) return opts.error();
  auto manager = digicert::makeAccountManager(*opts, clock_);
  if (!manager) return userError("issuer " + key + ": " + manager.error().message);
  std::shared_ptr<digicert::AccountManager> shared = std::move(manager).value();
  std::lock_guard lock(mu_);
  cache_[cache_key] = Entry{version, clock_.now(), shared};
  return shared;
}

}  // namespace su::serviceuser
