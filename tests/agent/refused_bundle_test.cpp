// The refused bundle the daemon remembers (agent/refused_bundle.h): the same bytes are
// skipped for an hour, anything else is verified again. The daemon's use of it is proven
// end to end in integration/drill_test.cpp.
#include <catch2/catch.hpp>

#include "refused_bundle.h"

using keyturn::agent::RefusedBundle;

TEST_CASE("a refused bundle is skipped only for the same digest and only for an hour", "[agent][bundle]") {
  const std::string sha(64, 'a'), other(64, 'b');
  RefusedBundle r(2, sha, "threshold_not_met", "1 of 2 signatures", 1000);
  CHECK(r.skips(sha, 1000));
  CHECK(r.skips(sha, 1000 + RefusedBundle::kRecheckSeconds - 1));
  CHECK_FALSE(r.skips(sha, 1000 + RefusedBundle::kRecheckSeconds));  // checked again after an hour
  CHECK_FALSE(r.skips(other, 1001));                                  // a different bundle is verified
  CHECK_FALSE(r.skips(sha, 999));                                     // a clock set back: verify again
}

TEST_CASE("a refused bundle survives a restart through its stored form, anything else reads as none",
          "[agent][bundle]") {
  RefusedBundle r(7, std::string(64, 'c'), "bad_signature", "signature of \"bob\" \\ does not verify", 1234);
  auto back = RefusedBundle::fromJson(r.toJson());
  REQUIRE(back);
  CHECK(back->version() == 7);
  CHECK(back->sha256() == r.sha256());
  CHECK(back->reason() == "bad_signature");
  CHECK(back->detail() == r.detail());
  CHECK(back->at() == 1234);
  CHECK_FALSE(RefusedBundle::fromJson(""));
  CHECK_FALSE(RefusedBundle::fromJson("not json"));
  CHECK_FALSE(RefusedBundle::fromJson("{\"version\":2,\"sha256\":\"x\"}"));  // members missing
  CHECK_FALSE(RefusedBundle::fromJson("{\"version\":\"2\",\"sha256\":\"x\",\"reason\":\"r\",\"detail\":\"d\",\"at\":1}"));
}
