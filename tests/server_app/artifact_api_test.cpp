// Artifacts for app.install over the real server: uploads need artifacts.write and stay
// under keyturn.artifacts.max_bytes, the bytes are kept content-addressed in a 0700
// folder, and a device fetches one only while it holds an open token installing it.
// Also: the agent and bundle versions a device reports with its facts.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>

#include "api_server.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

namespace {

const Headers kOctets{{"Content-Type", "application/octet-stream"}};

std::string errorOf(const HttpReply& r) { return parseBody(r)->getValue<std::string>("error"); }

HttpReply upload(ApiServer& s, const std::string& session, const std::string& bytes,
                 const std::string& name = "tool_1.0_amd64.deb") {
  return HttpsClient(s.config.caCertificate, s.port)
      .send("POST", "/api/v1/artifacts?name=" + name, bytes,
            {{"Content-Type", "application/octet-stream"}, {"Authorization", "Bearer " + session}});
}

// A completed app.install of `sha256` for `device`, written straight to the store (the
// workflow's tests cover how a real completion gets there).
void queueInstall(ApiServer& server, const std::string& requestId, const std::string& device,
                  const std::string& sha256, std::size_t size) {
  auto store = server.openStore();
  std::int64_t t = std::time(nullptr);
  server::RequestRecord r;
  r.id = requestId;
  r.tenant = "contoso";
  r.action = "app.install";
  r.paramsJson = "{\"name\":\"tool\",\"source\":\"artifact\",\"sha256\":" + json::quote(sha256) +
                 ",\"size\":" + std::to_string(size) + "}";
  r.requester = "alice";
  r.justification = "test";
  r.created = t;
  r.expires = t + 86400;
  r.bundleVersion = 1;
  r.targetCount = 1;
  r.targetRoot = "root-" + requestId;
  r.payloadB64 = "e30";
  r.state = server::state::kApproved;
  r.requirementsJson = "[]";
  r.updated = t;
  server::SignatureRecord requester{requestId, "requester", "alice", "k", t, "cA", "cw", ""};
  REQUIRE(store->insertRequest(r, {device}, requester, std::nullopt));
  server::SignatureRecord completer{requestId, "completer", "alice", "k", t, "cA", "cw", ""};
  REQUIRE(store->completeRequest(completer, {{device, "{\"payload\":\"e30\",\"signatures\":[]}"}},
                                 std::nullopt));
}

bool auditHas(ApiServer& s, const std::string& event, const std::string& subject) {
  auto page = s.sendAs(s.aliceSession, "GET", "/api/v1/audit?from=1&limit=1000");
  REQUIRE(page.status == 200);
  auto entries = parseBody(page)->getArray("entries");
  for (std::size_t i = 0; entries && i < entries->size(); ++i) {
    auto e = entries->getObject(static_cast<unsigned>(i));
    if (e->getValue<std::string>("event") == event && e->getValue<std::string>("subject") == subject)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("an admin with artifacts.write uploads an artifact, kept under its SHA-256 in a 0700 folder",
          "[server_app][artifacts]") {
  ApiServer s;
  const std::string bytes = "!<arch>\ndebian-binary a fake package";
  const std::string sha = toHex(sha256(bytes));
  auto r = upload(s, s.aliceSession, bytes);
  REQUIRE(r.status == 201);
  auto a = parseBody(r);
  CHECK(a->getValue<std::string>("sha256") == sha);
  CHECK(a->getValue<std::size_t>("size") == bytes.size());
  CHECK(a->getValue<std::string>("uploaded_by") == "alice");
  CHECK(a->getValue<bool>("created"));
  const std::string dir = s.dir + "/artifacts";
  CHECK(readFile(dir + "/" + sha, 1 << 20).value_or("") == bytes);
  struct stat st{};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(auditHas(s, "artifact.uploaded", sha));

  // The same bytes again: nothing new, answered 200.
  auto again = upload(s, s.aliceSession, bytes, "renamed.deb");
  REQUIRE(again.status == 200);
  CHECK_FALSE(parseBody(again)->getValue<bool>("created"));

  auto list = s.sendAs(s.aliceSession, "GET", "/api/v1/artifacts");
  REQUIRE(list.status == 200);
  auto items = parseBody(list)->getArray("artifacts");
  REQUIRE(items->size() == 1);
  CHECK(items->getObject(0)->getValue<std::string>("name") == "tool_1.0_amd64.deb");

  // No file of the upload is left behind beside the artifact.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  CHECK(files == 1);
}

TEST_CASE("an artifact upload is refused without artifacts.write, without a name, or as JSON",
          "[server_app][artifacts]") {
  ApiServer s;
  std::string bob = s.login("bob", testKey(2));
  auto forbidden = upload(s, bob, "bytes");
  CHECK(forbidden.status == 403);
  CHECK(errorOf(forbidden) == "forbidden");
  CHECK_THAT(parseBody(forbidden)->getValue<std::string>("detail"), Catch::Contains("artifacts.write"));

  auto noName = HttpsClient(s.config.caCertificate, s.port)
                    .send("POST", "/api/v1/artifacts", "bytes",
                          {{"Content-Type", "application/octet-stream"},
                           {"Authorization", "Bearer " + s.aliceSession}});
  CHECK(noName.status == 400);
  CHECK_THAT(parseBody(noName)->getValue<std::string>("detail"), Catch::Contains("name"));

  auto badName = upload(s, s.aliceSession, "bytes", "..%2Fetc%2Fpasswd");
  CHECK(badName.status == 400);

  auto json = s.sendAs(s.aliceSession, "POST", "/api/v1/artifacts?name=x.deb", "{}");
  CHECK(json.status == 415);

  auto anonymous = s.send("POST", "/api/v1/artifacts?name=x.deb", "bytes", kOctets);
  CHECK(anonymous.status == 401);
  auto list = s.sendAs(s.aliceSession, "GET", "/api/v1/artifacts");
  CHECK(parseBody(list)->getArray("artifacts")->size() == 0);
}

TEST_CASE("an artifact over keyturn.artifacts.max_bytes is refused 413 and nothing is stored",
          "[server_app][artifacts]") {
  ApiServer s;
  auto big = upload(s, s.aliceSession, std::string(kArtifactMaxBytes + 1, 'x'));
  CHECK(big.status == 413);
  CHECK(errorOf(big) == "too_large");
  auto exact = upload(s, s.aliceSession, std::string(kArtifactMaxBytes, 'y'));
  CHECK(exact.status == 201);
  auto list = s.sendAs(s.aliceSession, "GET", "/api/v1/artifacts");
  REQUIRE(parseBody(list)->getArray("artifacts")->size() == 1);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(s.dir + "/artifacts")) ++files;
  CHECK(files == 1);
}

TEST_CASE("a device fetches an artifact only while a token issued to it installs that artifact",
          "[server_app][artifacts]") {
  ApiServer s;
  const std::string bytes = "package bytes for laptop-1";
  const std::string sha = toHex(sha256(bytes));
  REQUIRE(upload(s, s.aliceSession, bytes).status == 201);
  const std::string other = "another package";
  const std::string otherSha = toHex(sha256(other));
  REQUIRE(upload(s, s.aliceSession, other).status == 201);
  EnrolledAgent one = s.enroll("laptop-1"), two = s.enroll("laptop-2");
  queueInstall(s, "r-install", "laptop-1", sha, bytes.size());

  auto got = s.agent(one, "GET", "/api/v1/agent/artifacts/" + sha);
  REQUIRE(got.status == 200);
  CHECK(got.body == bytes);
  CHECK(auditHas(s, "artifact.fetched", sha));

  // laptop-2 has no token for it; laptop-1 has none for the other artifact.
  auto stranger = s.agent(two, "GET", "/api/v1/agent/artifacts/" + sha);
  CHECK(stranger.status == 403);
  CHECK(errorOf(stranger) == "forbidden");
  CHECK(s.agent(one, "GET", "/api/v1/agent/artifacts/" + otherSha).status == 403);
  CHECK(auditHas(s, "artifact.refused", otherSha));
  auto unknown = s.agent(one, "GET", "/api/v1/agent/artifacts/" + std::string(64, 'a'));
  CHECK(unknown.status == 404);
  CHECK(s.agent(one, "GET", "/api/v1/agent/artifacts/..%2F..%2Fkeyturn.db").status == 400);
  // Only over mutual TLS.
  CHECK(s.send("GET", "/api/v1/agent/artifacts/" + sha).status == 401);

  // Once the device reported its result, the token is spent: no more fetching.
  auto reported = s.agent(one, "POST", "/api/v1/agent/results",
                          "{\"results\":[{\"request\":\"r-install\",\"state\":\"succeeded\",\"at\":" +
                              std::to_string(std::time(nullptr)) + "}]}");
  REQUIRE(reported.status == 200);
  CHECK(s.agent(one, "GET", "/api/v1/agent/artifacts/" + sha).status == 403);
}

TEST_CASE("the agent and trust bundle versions reported with the facts are shown per device",
          "[server_app][devices]") {
  ApiServer s;
  EnrolledAgent a = s.enroll("laptop-9");
  auto before = s.sendAs(s.aliceSession, "GET", "/api/v1/devices/laptop-9");
  REQUIRE(before.status == 200);
  CHECK(parseBody(before)->isNull("agent_version"));
  CHECK(parseBody(before)->isNull("bundle_version"));

  auto put = s.agent(a, "PUT", "/api/v1/agent/facts",
                     "{\"ownership\":\"corporate\",\"agent_version\":\"0.1.0\",\"bundle_version\":1}");
  REQUIRE(put.status == 204);
  auto list = s.sendAs(s.aliceSession, "GET", "/api/v1/devices");
  auto d = parseBody(list)->getArray("devices")->getObject(0);
  CHECK(d->getValue<std::string>("agent_version") == "0.1.0");
  CHECK(d->getValue<int>("bundle_version") == 1);
  // Not facts: policies and the facts object never see them.
  CHECK_FALSE(d->getObject("facts")->has("agent_version"));

  // Both or neither; a version is at least 1.
  auto half = s.agent(a, "PUT", "/api/v1/agent/facts", "{\"agent_version\":\"0.2.0\"}");
  CHECK(half.status == 400);
  CHECK_THAT(parseBody(half)->getValue<std::string>("detail"), Catch::Contains("bundle_version"));
  CHECK(s.agent(a, "PUT", "/api/v1/agent/facts", "{\"agent_version\":\"0.2.0\",\"bundle_version\":0}").status ==
        400);
  CHECK(s.agent(a, "PUT", "/api/v1/agent/facts", "{\"agent_version\":\"\",\"bundle_version\":2}").status == 400);
  // An older agent (no versions) leaves the last report in place.
  REQUIRE(s.agent(a, "PUT", "/api/v1/agent/facts", "{\"ownership\":\"corporate\"}").status == 204);
  auto after = s.sendAs(s.aliceSession, "GET", "/api/v1/devices/laptop-9");
  CHECK(parseBody(after)->getValue<std::string>("agent_version") == "0.1.0");
}

TEST_CASE("the libraries an agent reports with its versions are shown per device, and a bad list is "
          "refused naming the entry",
          "[server_app][devices]") {
  ApiServer s;
  EnrolledAgent a = s.enroll("laptop-9");
  const std::string versions = "\"agent_version\":\"0.1.0\",\"bundle_version\":1";
  const std::string twoLibraries =
      "{" + versions +
      ",\"libraries\":[{\"name\":\"OpenSSL\",\"version\":\"3.0.19\",\"from\":\"keyturn-agent\"},"
      "{\"from\":\"/lib/x86_64-linux-gnu/libsqlite3.so.0\",\"version\":\"3.40.1\",\"name\":\"SQLite\"}]}";
  REQUIRE(s.agent(a, "PUT", "/api/v1/agent/facts", twoLibraries).status == 204);
  auto d = parseBody(s.sendAs(s.aliceSession, "GET", "/api/v1/devices/laptop-9"));
  auto libs = d->getArray("agent_libraries");
  REQUIRE(libs);
  REQUIRE(libs->size() == 2);
  CHECK(libs->getObject(0)->getValue<std::string>("name") == "OpenSSL");
  CHECK(libs->getObject(0)->getValue<std::string>("version") == "3.0.19");
  CHECK(libs->getObject(0)->getValue<std::string>("from") == "keyturn-agent");
  CHECK(libs->getObject(1)->getValue<std::string>("from") == "/lib/x86_64-linux-gnu/libsqlite3.so.0");
  CHECK_FALSE(d->getObject("facts")->has("libraries"));  // not facts: policies never see them

  auto refused = [&](const std::string& body, const std::string& named) {
    auto r = s.agent(a, "PUT", "/api/v1/agent/facts", body);
    INFO(body << " -> " << r.status << " " << r.body);
    CHECK(r.status == 400);
    CHECK_THAT(parseBody(r)->getValue<std::string>("detail"), Catch::Contains(named));
  };
  refused("{\"libraries\":[]}", "agent_version");  // only with the versions
  refused("{" + versions + ",\"libraries\":{}}", "libraries");
  refused("{" + versions + ",\"libraries\":[\"OpenSSL\"]}", "libraries[0]");
  refused("{" + versions + ",\"libraries\":[{\"name\":\"Lua\",\"version\":\"5.4.4\"}]}", "from");
  refused("{" + versions +
              ",\"libraries\":[{\"name\":\"Lua\",\"version\":\"5.4.4\",\"from\":\"x\",\"path\":\"y\"}]}",
          "path");
  refused("{" + versions + ",\"libraries\":[{\"name\":\"\",\"version\":\"1\",\"from\":\"x\"}]}",
          "libraries[0] member name must be 1..32 characters");
  refused("{" + versions + ",\"libraries\":[{\"name\":\"Lua\",\"version\":\"" + std::string(65, '5') +
              "\",\"from\":\"x\"}]}",
          "version must be 1..64");
  refused("{" + versions + ",\"libraries\":[{\"name\":\"Lua\",\"version\":5.4,\"from\":\"x\"}]}", "version");
  refused("{" + versions + ",\"libraries\":[{\"name\":null,\"version\":\"1\",\"from\":\"x\"}]}", "name");
  refused("{" + versions + ",\"libraries\":[{\"name\":\"Lua\",\"version\":\"5.4\\u001b[31m\",\"from\":\"x\"}]}",
          "libraries[0] member version holds a control character");
  refused("{" + versions +
              ",\"libraries\":[{\"name\":\"Lua\",\"version\":\"1\",\"from\":\"x\"},"
              "{\"name\":\"Lua\",\"version\":\"2\",\"from\":\"y\"}]}",
          "libraries[1] names Lua again");
  // Lengths count characters, not bytes: 32 two-byte characters are a valid name.
  std::string wide;
  for (int i = 0; i < 32; ++i) wide += "\xc3\xa9";
  std::string many;
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + "{\"name\":\"L\",\"version\":\"1\",\"from\":\"x\"}";
  refused("{" + versions + ",\"libraries\":[" + many + "]}", "at most 16");
  refused("{" + versions + ",\"libraries\":[{\"name\":\"" + wide + "\\u00e9\",\"version\":\"1\",\"from\":\"x\"}]}",
          "name must be 1..32");
  auto accepted = s.agent(a, "PUT", "/api/v1/agent/facts",
                          "{" + versions + ",\"libraries\":[{\"name\":\"" + wide + "\",\"version\":\"1\",\"from\":\"x\"}]}");
  CHECK(accepted.status == 204);
  CHECK(parseBody(s.sendAs(s.aliceSession, "GET", "/api/v1/devices/laptop-9"))
            ->getArray("agent_libraries")
            ->getObject(0)
            ->getValue<std::string>("name") == wide);
  // Put the two-entry list back for what follows.
  REQUIRE(s.agent(a, "PUT", "/api/v1/agent/facts", twoLibraries).status == 204);
  // Refused reports changed nothing.
  auto after = parseBody(s.sendAs(s.aliceSession, "GET", "/api/v1/devices/laptop-9"));
  CHECK(after->getArray("agent_libraries")->size() == 2);

  // An agent that reports its versions without libraries (an older agent) clears them:
  // the coordinator shows no list rather than one this program no longer runs with.
  REQUIRE(s.agent(a, "PUT", "/api/v1/agent/facts", "{" + versions + "}").status == 204);
  CHECK(parseBody(s.sendAs(s.aliceSession, "GET", "/api/v1/devices/laptop-9"))->isNull("agent_libraries"));

  // A stored list that does not parse (a row edited by hand) shows as null and does not
  // break the device listing.
  REQUIRE(s.openStore()->setDeviceVersions("laptop-9", "0.1.0", 1, "[{\"name\":"));
  auto list = s.sendAs(s.aliceSession, "GET", "/api/v1/devices");
  REQUIRE(list.status == 200);
  CHECK(parseBody(list)->getArray("devices")->getObject(0)->isNull("agent_libraries"));
}
