#pragma once

#include <openssl/crypto.h>

#include <string>
#include <string_view>

namespace su {

// A credential (token, API key, private key) held so that it cannot reach a log line, an error
// message or a stream by accident: it has no conversion to text and no operator<<. Code that must
// send or store the bytes asks for them by name with reveal(). The memory is wiped on destruction.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  SecretString(const SecretString&) = default;
  SecretString& operator=(const SecretString&) = default;
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  SecretString& operator=(SecretString&& other) noexcept {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
    return *this;
  }
  ~SecretString() { wipe(); }

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }
  bool operator==(const SecretString& other) const {
    return value_.size() == other.value_.size() &&
           CRYPTO_memcmp(value_.data(), other.value_.data(), value_.size()) == 0;
  }

 private:
  void wipe() {
    if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
  }
  std::string value_;
};

}  // namespace su
