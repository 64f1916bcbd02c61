#include "io/hmac.hpp"

#include <array>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace dutydesk::io {

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &len);
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  result.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    result += digits[mac[i] >> 4];
    result += digits[mac[i] & 0xfu];
  }
  return result;
}

std::string hub_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

bool verify_hub_signature(std::string_view secret, std::string_view body, std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (header.substr(0, prefix.size()) != prefix)
    return false;
  auto given = header.substr(prefix.size());
  auto expected = hmac_sha256_hex(secret, body);
  if (given.size() != expected.size())
    return false;
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

} // namespace dutydesk::io
