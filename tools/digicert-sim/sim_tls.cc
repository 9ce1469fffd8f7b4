#include "sim_tls.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pki/key.h"
#include "pki/pem.h"

namespace su::sim {
namespace {

Error tlsError(const std::string& what) {
  pki::drainErrors();
  return makeError(ErrorKind::kInternal, what);
}

std::optional<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool writeText(const std::string& path, const std::string& text, bool secret) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return false;
  out << text;
  out.close();
  if (secret) ::chmod(path.c_str(), 0600);
  return static_cast<bool>(out);
}

bool setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  if (bn == nullptr) return false;
  bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool setValidity(X509* cert, TimePoint not_before, TimePoint not_after) {
  time_t from = std::chrono::system_clock::to_time_t(not_before);
  time_t to = std::chrono::system_clock::to_time_t(not_after);
  return X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &from) != nullptr &&
         X509_time_adj_ex(X509_getm_notAfter(cert), 0, 0, &to) != nullptr;
}

bool setCommonName(X509_NAME* name, const std::string& cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(cn.data()),
                                    static_cast<int>(cn.size()), -1, 0) == 1;
}

struct Extension {
  int nid;
  const char* value;
};

// A certificate for `key` issued by `issuer` (itself when issuer is null).
Result<pki::X509Ptr> makeCertificate(EVP_PKEY* key, const std::string& cn, X509* issuer,
                                     EVP_PKEY* issuer_key, TimePoint from, TimePoint to,
                                     std::initializer_list<Extension> extensions) {
  pki::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !setRandomSerial(cert.get()) ||
      !setValidity(cert.get(), from, to) || X509_set_pubkey(cert.get(), key) != 1 ||
      !setCommonName(X509_get_subject_name(cert.get()), cn)) {
    return tlsError("could not fill a certificate");
  }
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) {
    return tlsError("could not set a certificate issuer");
  }
  for (const Extension& e : extensions) {
    if (!addExtension(cert.get(), signer, e.nid, e.value)) {
      return tlsError("could not add a certificate extension");
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    return tlsError("could not sign a certificate");
  }
  return cert;
}

Result<TlsMaterial> createTls(const std::string& dir) {
  TimePoint now = std::chrono::system_clock::now();
  auto ca_key = pki::generateKey(pki::KeyType::kEcP256);
  auto server_key = pki::generateKey(pki::KeyType::kEcP256);
  if (!ca_key || !server_key) return makeError(ErrorKind::kInternal, "key generation failed");
  auto ca = makeCertificate(ca_key->get(), "digicert-sim local CA", nullptr, ca_key->get(),
                            now - std::chrono::hours(1), now + std::chrono::hours(24 * 3650),
                            {{NID_basic_constraints, "critical,CA:TRUE"},
                             {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                             {NID_subject_key_identifier, "hash"}});
  if (!ca) return ca.error();
  auto server = makeCertificate(server_key->get(), "127.0.0.1", ca->get(), ca_key->get(),
                                now - std::chrono::hours(1), now + std::chrono::hours(24 * 825),
                                {{NID_basic_constraints, "critical,CA:FALSE"},
                                 {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                 {NID_ext_key_usage, "serverAuth"},
                                 {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                                 {NID_authority_key_identifier, "keyid"}});
  if (!server) return server.error();
  auto ca_key_pem = pki::privateKeyToPem(ca_key->get());
  auto server_key_pem = pki::privateKeyToPem(server_key->get());
  if (!ca_key_pem || !server_key_pem) return makeError(ErrorKind::kInternal, "key encoding failed");
  if (!writeText(dir + "/ca.key", *ca_key_pem, true) ||
      !writeText(dir + "/server.key", *server_key_pem, true) ||
      !writeText(dir + "/server.crt", pki::certificateToPem(server->get()), false) ||
      !writeText(dir + "/ca.crt", pki::certificateToPem(ca->get()), false)) {
    return makeError(ErrorKind::kInternal, "could not write TLS files to " + dir);
  }
  return loadOrCreateTls(dir);
}

}  // namespace

Result<TlsMaterial> loadOrCreateTls(const std::string& dir) {
  auto ca_pem = readText(dir + "/ca.crt");
  auto ca_key_pem = readText(dir + "/ca.key");
  auto server_pem = readText(dir + "/server.crt");
  auto server_key_pem = readText(dir + "/server.key");
  if (!ca_pem || !ca_key_pem || !server_pem || !server_key_pem) return createTls(dir);

  auto ca = pki::parseCertificates(*ca_pem, "ca.crt");
  if (!ca) return ca.error();
  auto ca_key = pki::parsePrivateKey(*ca_key_pem, "ca.key");
  if (!ca_key) return ca_key.error();
  TlsMaterial m;
  m.ca_cert = std::move(ca->front());
  m.ca_key = std::move(ca_key).value();
  m.ca_pem = *ca_pem;
  m.server_cert_pem = *server_pem + *ca_pem;
  m.server_key_pem = *server_key_pem;
  m.ca_path = std::filesystem::absolute(dir + "/ca.crt").string();
  return m;
}

Result<IssuedCertificate> signClientCertificate(const TlsMaterial& tls, X509_REQ* csr,
                                                TimePoint not_before, TimePoint not_after) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(csr);
  if (key == nullptr) return tlsError("the CSR has no public key");
  std::string cn = "client";
  X509_NAME* subject = X509_REQ_get_subject_name(csr);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    cn.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
              static_cast<size_t>(ASN1_STRING_length(data)));
  }
  auto cert = makeCertificate(key, cn, tls.ca_cert.get(), tls.ca_key.get(), not_before, not_after,
                              {{NID_basic_constraints, "critical,CA:FALSE"},
                               {NID_key_usage, "critical,digitalSignature"},
                               {NID_ext_key_usage, "clientAuth"},
                               {NID_authority_key_identifier, "keyid"}});
  if (!cert) return cert.error();
  return IssuedCertificate{pki::certificateToPem(cert->get()), serialHex(cert->get()), not_before,
                           not_after};
}

std::string serialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace su::sim
