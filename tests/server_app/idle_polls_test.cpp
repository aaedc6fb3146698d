// IdlePolls: an idle answer is reused only under exactly what it was read under (the
// device's notification ticket, the bundle in force, the certificate, what the agent
// reported) and for under a second.
#include <catch2/catch.hpp>
#include <chrono>

#include "app/idle_polls.h"

using keyturn::server::IdlePolls;
using namespace std::chrono_literals;

TEST_CASE("an idle answer is reused only under the same ticket, bundle, certificate and "
          "report, and for under a second",
          "[idle-polls]") {
  IdlePolls polls;
  const auto t0 = IdlePolls::Clock::now();
  const IdlePolls::Key key{"fp-1", 7, 1, ""};
  CHECK_FALSE(polls.idleTag("laptop-1", key, t0));  // nothing read yet
  polls.rememberIdle("laptop-1", key, "\"idle-v1\"", t0);
  auto tag = polls.idleTag("laptop-1", key, t0 + 900ms);
  REQUIRE(tag);
  CHECK(*tag == "\"idle-v1\"");

  auto changed = [&](IdlePolls::Key k) { return !polls.idleTag("laptop-1", k, t0 + 1ms); };
  IdlePolls::Key notified = key;  // a completion or a removal notified the device
  notified.ticket = 8;
  CHECK(changed(notified));
  IdlePolls::Key published = key;  // a bundle was published
  published.bundle = 2;
  CHECK(changed(published));
  IdlePolls::Key otherCert = key;  // a certificate from another enrollment
  otherCert.fingerprint = "fp-2";
  CHECK(changed(otherCert));
  IdlePolls::Key reports = key;  // the agent reports something new
  reports.reported = "bundle=2";
  CHECK(changed(reports));

  CHECK_FALSE(polls.idleTag("laptop-1", key, t0 + 1000ms));  // too old: read the store
  CHECK_FALSE(polls.idleTag("laptop-1", key, t0 - 1ms));     // clock before the read
  CHECK_FALSE(polls.idleTag("laptop-2", key, t0 + 1ms));     // another device
}
