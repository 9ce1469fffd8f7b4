#include "pki/csr.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace su::pki {
namespace {

Error csrError(std::string message) {
  drainErrors();
  return makeError(ErrorKind::kInternal, std::move(message));
}

bool addNameEntry(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return true;
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

std::string sanText(const CsrSubject& subject) {
  std::string text;
  auto append = [&text](const char* prefix, const std::string& value) {
    if (!text.empty()) text += ",";
    text += prefix + value;
  };
  for (const auto& v : subject.dns_names) append("DNS:", v);
  for (const auto& v : subject.ip_addresses) append("IP:", v);
  for (const auto& v : subject.emails) append("email:", v);
  return text;
}

bool addSans(X509_REQ* req, const CsrSubject& subject) {
  std::string text = sanText(subject);
  if (text.empty()) return true;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, text.c_str());
  if (ext == nullptr) return false;
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  bool ok = exts != nullptr && sk_X509_EXTENSION_push(exts, ext) > 0 &&
            X509_REQ_add_extensions(req, exts) == 1;
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (exts == nullptr) X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

Result<std::string> makeCsrPem(EVP_PKEY* key, const CsrSubject& subject) {
  X509ReqPtr req(X509_REQ_new());
  if (!req) return csrError("could not allocate a CSR");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return csrError("could not set the CSR version");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (!addNameEntry(name, "CN", subject.common_name) ||
      !addNameEntry(name, "O", subject.organization)) {
    return csrError("could not set the CSR subject");
  }
  if (!addSans(req.get(), subject)) return csrError("could not add the CSR subjectAltName");
  if (X509_REQ_set_pubkey(req.get(), key) != 1) return csrError("could not set the CSR key");
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return csrError("could not sign the CSR");

  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return csrError("could not encode the CSR");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<X509ReqPtr> parseCsr(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    drainErrors();
    return makeError(ErrorKind::kInvalid, "not a PEM certificate request");
  }
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr || X509_REQ_verify(req.get(), pub) != 1) {
    drainErrors();
    return makeError(ErrorKind::kInvalid, "the certificate request's signature does not verify");
  }
  return req;
}

}  // namespace su::pki
