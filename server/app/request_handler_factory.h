// Hands Poco's HTTPServer one RequestDispatcher per request, all sharing the context.
#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "app/server_context.h"

namespace keyturn::server {

class RequestHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  // `context` must outlive the HTTPServer that owns this factory.
  explicit RequestHandlerFactory(ServerContext& context) : context_(context) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  ServerContext& context_;
};

}  // namespace keyturn::server
