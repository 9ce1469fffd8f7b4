#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace su::pki {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PKeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct X509ReqFree {
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
};
struct X509StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};

using X509Ptr = std::unique_ptr<X509, X509Free>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509ReqPtr = std::unique_ptr<X509_REQ, X509ReqFree>;
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;

// OpenSSL keeps its error queue per thread and threads are shared with other work: every failed
// call drains it, and the text of an error never includes key material.
std::string drainErrors();

}  // namespace su::pki
