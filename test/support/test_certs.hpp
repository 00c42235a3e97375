#pragma once

// Certificates for TLS tests and benchmarks, made with OpenSSL's C API (no
// openssl command needed): a cluster CA and node certificates it issues,
// written as PEM files into a temporary directory that is removed with it.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace herald::test {

// A directory under /tmp, removed with its files when destroyed.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = "/tmp/herald-tls-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string file(const std::string& name, const std::string& contents) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A P-256 key and a certificate, PEM encoded.
struct issued_cert {
  std::string cert_pem;
  std::string key_pem;
};

// A certificate authority: a self-signed CA certificate and its key. Not
// thread-safe.
class test_ca {
 public:
  explicit test_ca(const std::string& name) : key_(make_key()), cert_(X509_new(), X509_free) {
    fill(cert_.get(), name, key_.get(), -3600, 10 * 365 * 86400L);
    X509_set_issuer_name(cert_.get(), X509_get_subject_name(cert_.get()));
    add_ext(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert_.get(), cert_.get(), NID_subject_key_identifier, "hash");
    X509_sign(cert_.get(), key_.get(), EVP_sha256());
  }

  std::string cert_pem() const { return pem(cert_.get()); }

  // A certificate for `name` (its CN and a DNS subjectAltName), valid from
  // now + not_before_s to now + not_after_s seconds.
  issued_cert issue(const std::string& name, long not_before_s = -3600, long not_after_s = 86400) {
    auto key = make_key();
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
    fill(x.get(), name, key.get(), not_before_s, not_after_s);
    X509_set_issuer_name(x.get(), X509_get_subject_name(cert_.get()));
    add_ext(cert_.get(), x.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert_.get(), x.get(), NID_subject_alt_name, ("DNS:" + name).c_str());
    add_ext(cert_.get(), x.get(), NID_authority_key_identifier, "keyid");
    X509_sign(x.get(), key_.get(), EVP_sha256());
    return {pem(x.get()), key_pem(key.get())};
  }

 private:
  using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

  static key_ptr make_key() {
    key_ptr k(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!k) throw std::runtime_error("EC key generation failed");
    return k;
  }
  static void fill(X509* x, const std::string& cn, EVP_PKEY* key, long not_before_s, long not_after_s) {
    static long serial = 1;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(x), not_after_s);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  static void add_ext(X509* issuer, X509* x, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (e == nullptr) throw std::runtime_error("bad certificate extension");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  template <class Write>
  static std::string to_pem(Write write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  }
  static std::string pem(X509* x) {
    return to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  }
  static std::string key_pem(EVP_PKEY* k) {
    return to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr); });
  }

  key_ptr key_;
  std::unique_ptr<X509, decltype(&X509_free)> cert_;
};

}  // namespace herald::test
