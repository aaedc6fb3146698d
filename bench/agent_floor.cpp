// bench_agent_floor URL CA CERT KEY: the floor under the agent's idle memory (issue 4,
// docs/performance.md "Agent"). What the mandated stack costs before any agent code: the
// same shared Poco and OpenSSL libraries, one Poco HTTPSClientSession with the device's
// certificate and key (mutual TLS, VERIFY_STRICT against the pinned CA, TLS >= 1.2, as
// CoordinatorClient sets it up), kept alive, long-polling GET /api/v1/agent/tokens the
// way the agent does: a first poll with wait=0 learns the idle ETag, then held polls of
// 25 s with If-None-Match. Prints "connected" on stderr after the first answer; exits 1
// on any other answer than 200/304 or a lost connection. No keyturn code is linked.
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: bench_agent_floor URL CA CERT KEY\n");
    return 2;
  }
  try {
    Poco::URI uri(argv[1]);
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, argv[4], argv[3], argv[2], Poco::Net::Context::VERIFY_STRICT, 9, false);
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    Poco::Net::HTTPSClientSession session(uri.getHost(), uri.getPort(), context);
    session.setKeepAlive(true);
    std::string etag;
    for (bool announced = false;;) {
      const int wait = etag.empty() ? 0 : 25;
      session.setTimeout(Poco::Timespan(wait + 15, 0));
      Poco::Net::HTTPRequest request("GET", "/api/v1/agent/tokens?wait=" + std::to_string(wait),
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      request.setKeepAlive(true);
      if (!etag.empty()) request.set("If-None-Match", etag);
      session.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& in = session.receiveResponse(response);
      Poco::NullOutputStream discard;
      Poco::StreamCopier::copyStream(in, discard);
      if (response.getStatus() != 200 && response.getStatus() != 304) {
        std::fprintf(stderr, "the poll was answered %d\n", static_cast<int>(response.getStatus()));
        return 1;
      }
      etag = response.get("ETag", etag);
      if (!announced) std::fprintf(stderr, "connected\n");
      announced = true;
    }
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "bench_agent_floor: %s\n", e.displayText().c_str());
    return 1;
  }
}
