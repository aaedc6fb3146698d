#include "app/request_handler_factory.h"

#include "app/request_dispatcher.h"

namespace keyturn::server {

Poco::Net::HTTPRequestHandler* RequestHandlerFactory::createRequestHandler(
    const Poco::Net::HTTPServerRequest&) {
  return new RequestDispatcher(context_);
}

}  // namespace keyturn::server
