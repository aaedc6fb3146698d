#include "api_client.h"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <memory>
#include <sstream>
#include <stdexcept>

#include "keyturn/json.h"

namespace keyturn::test {

std::string ApiReply::error() const { return json ? json->optValue<std::string>("error", "") : ""; }

ApiClient::ApiClient(const std::string& caFile, int port, const std::string& certFile,
                     const std::string& keyFile)
    : port_(port) {
  context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, keyFile, certFile, caFile,
                                    Poco::Net::Context::VERIFY_STRICT, 9, false);
}

ApiReply ApiClient::send(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& bearer) {
  Poco::Net::HTTPSClientSession session("localhost", static_cast<Poco::UInt16>(port_), context_);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!bearer.empty()) request.set("Authorization", "Bearer " + bearer);
  if (!body.empty() || method == "POST") {
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  ApiReply reply;
  reply.status = static_cast<int>(response.getStatus());
  std::ostringstream text;
  Poco::StreamCopier::copyStream(in, text);
  reply.body = text.str();
  if (auto o = json::parseObject(reply.body)) reply.json = o.value();
  return reply;
}

std::string makeDeviceKey(const std::string& keyFile) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(keyFile.c_str(), "w"), std::fclose);
  if (!f) throw std::runtime_error("cannot write " + keyFile);
  ::chmod(keyFile.c_str(), 0600);
  PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace keyturn::test
