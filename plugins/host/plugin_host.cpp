#include "plugin_host.h"

#include <Poco/AutoPtr.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace keyturn::plugin {
namespace {

Status rejected(const std::string& detail) { return Status::fail("plugin_rejected", detail); }

// A plugin runs as the agent (root): anyone able to replace it owns the machine.
Status checkFile(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return rejected(path + " is not a regular file");
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) return rejected(path + " is not owned by root or the agent user");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return rejected(path + " is group- or world-writable");
  return Status::ok();
}

struct Manifest {
  std::string library, className;
  std::vector<std::string> actions;
};

Result<Manifest> readManifest(const std::string& jsonPath) {
  using R = Result<Manifest>;
  std::ifstream in(jsonPath);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    Poco::JSON::Parser parser;
    auto obj = parser.parse(ss.str()).extract<Poco::JSON::Object::Ptr>();
    if (!obj->has("abi") || !obj->get("abi").isInteger() || obj->getValue<int>("abi") != kAbiVersion) {
      return R::fail("plugin_rejected", jsonPath + ": ABI version is not " + std::to_string(kAbiVersion));
    }
    Manifest m;
    m.className = obj->getValue<std::string>("class");
    auto arr = obj->getArray("actions");
    if (!arr || arr->size() == 0) return R::fail("plugin_rejected", jsonPath + ": no actions");
    for (std::size_t i = 0; i < arr->size(); ++i) m.actions.push_back(arr->getElement<std::string>(i));
    std::sort(m.actions.begin(), m.actions.end());
    m.library = fs::path(jsonPath).replace_extension(".so").string();
    return m;
  } catch (const std::exception& e) {
    return R::fail("plugin_rejected", jsonPath + ": bad manifest: " + e.what());
  }
}

}  // namespace

PluginHost::PluginHost() : loader_(std::make_unique<Loader>()) {}

PluginHost::~PluginHost() { unloadAll(); }

void PluginHost::unloadAll() {
  for (auto& p : plugins_) p->tearDown();
  byAction_.clear();
  plugins_.clear();  // objects die before their code goes away
  loader_ = std::make_unique<Loader>();
}

Status PluginHost::load(const std::string& dir, const PluginConfig& config) {
  unloadAll();
  std::vector<std::string> manifests;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json") manifests.push_back(e.path().string());
  }
  if (ec) return rejected("cannot read plugin folder " + dir + ": " + ec.message());
  std::sort(manifests.begin(), manifests.end());

  Status result = Status::ok();
  auto fail = [&](Status s) {
    unloadAll();
    return s;
  };
  // First every manifest and file, before any code is loaded.
  std::vector<Manifest> all;
  std::set<std::string> claimed;
  for (const auto& path : manifests) {
    if (auto s = checkFile(path); !s) return fail(s);
    auto m = readManifest(path);
    if (!m) return fail(m.status());
    if (auto s = checkFile(m.value().library); !s) return fail(s);
    for (const auto& a : m.value().actions) {
      if (!claimed.insert(a).second) return fail(rejected("two plugins claim action " + a + " (" + path + ")"));
    }
    all.push_back(m.value());
  }
  for (const auto& m : all) {
    try {
      loader_->loadLibrary(m.library);
      std::unique_ptr<ActionPlugin> p(loader_->create(m.className));
      if (p->abiVersion() != kAbiVersion) return fail(rejected(m.library + " was built for another ABI"));
      auto acts = p->actions();
      std::sort(acts.begin(), acts.end());
      if (acts != m.actions) return fail(rejected(m.library + " serves other actions than its manifest names"));
      if (auto s = p->setUp(config); !s) return fail(Status::fail("bad_config", m.library + ": " + s.detail()));
      for (const auto& a : acts) byAction_[a] = p.get();
      plugins_.push_back(std::move(p));
    } catch (const Poco::Exception& e) {
      return fail(rejected(m.library + ": " + e.displayText()));
    } catch (const std::exception& e) {
      return fail(rejected(m.library + ": " + e.what()));
    }
  }
  return result;
}

std::vector<std::string> PluginHost::actions() const {
  std::vector<std::string> out;
  for (const auto& [a, p] : byAction_) out.push_back(a);
  return out;
}

bool PluginHost::handles(const std::string& action) const { return byAction_.count(action) > 0; }

Status PluginHost::validate(const std::string& action, const Poco::JSON::Object& params) const {
  auto it = byAction_.find(action);
  if (it == byAction_.end()) return Status::fail("unknown_action", "no plugin handles " + action);
  return it->second->validate(action, params);
}

bool PluginHost::idempotent(const std::string& action) const {
  auto it = byAction_.find(action);
  return it != byAction_.end() && it->second->idempotent(action);
}

Outcome PluginHost::execute(const std::string& action, const Poco::JSON::Object& params,
                            ExecutionContext& context) {
  auto it = byAction_.find(action);
  if (it == byAction_.end()) return Outcome::fail("unknown_action", "no plugin handles " + action);
  if (auto s = it->second->validate(action, params); !s) return Outcome::fail(s.reason(), s.detail());
  try {
    return it->second->execute(action, params, context);
  } catch (const std::exception& e) {
    return Outcome::fail("plugin_error", e.what());
  }
}

Result<PluginConfig> readPluginConfig(const std::string& file) {
  try {
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> conf;
    if (fs::path(file).extension() == ".ini") conf = new Poco::Util::IniFileConfiguration(file);
    else conf = new Poco::Util::PropertyFileConfiguration(file);
    PluginConfig out;
    std::vector<std::string> stack{"plugins"};
    while (!stack.empty()) {
      std::string prefix = stack.back();
      stack.pop_back();
      Poco::Util::AbstractConfiguration::Keys keys;
      conf->keys(prefix, keys);
      for (const auto& k : keys) {
        std::string full = prefix + "." + k;
        if (conf->hasOption(full)) out[full.substr(8)] = conf->getRawString(full);
        stack.push_back(full);
      }
    }
    return out;
  } catch (const Poco::Exception& e) {
    return Result<PluginConfig>::fail("bad_config", file + ": " + e.displayText());
  }
}

}  // namespace keyturn::plugin
