#include "pki/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>
#include <ctime>

namespace su::pki {
namespace {

BioPtr memoryBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

std::string drainErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Result<std::vector<X509Ptr>> parseCertificates(std::string_view pem, std::string_view what) {
  BioPtr bio = memoryBio(pem);
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  drainErrors();  // the loop always ends on a "no start line" error
  if (certs.empty()) {
    return makeError(ErrorKind::kInvalid, std::string(what) + " holds no PEM certificate");
  }
  return certs;
}

Result<PKeyPtr> parsePrivateKey(std::string_view pem, std::string_view what) {
  BioPtr bio = memoryBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    drainErrors();
    return makeError(ErrorKind::kInvalid, std::string(what) + " holds no readable PEM private key");
  }
  return PKeyPtr(key);
}

std::string certificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bioToString(bio.get());
}

Result<std::string> privateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    drainErrors();
    return makeError(ErrorKind::kInternal, "could not encode a private key as PEM");
  }
  return bioToString(bio.get());
}

Result<int64_t> notAfter(X509* cert) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
    drainErrors();
    return makeError(ErrorKind::kInvalid, "certificate has an unreadable notAfter");
  }
  return static_cast<int64_t>(timegm(&tm));
}

std::string base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return makeError(ErrorKind::kInvalid, "base64 text has a bad length");
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return makeError(ErrorKind::kInvalid, "text is not valid base64");
  size_t pad = 0;
  if (!clean.empty() && clean.back() == '=') ++pad;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace su::pki
