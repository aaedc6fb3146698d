// The helpers every policy test file sees (policy_test_runner.h). Kept as Lua because
// test authors read it to learn what expect_* compare.
namespace keyturn::policykit {

extern const char* const kPolicyTestPrelude;
const char* const kPolicyTestPrelude = R"lua(
_keyturn_tests = {}

function test(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("test(name, fn) takes a string and a function", 2)
  end
  _keyturn_tests[#_keyturn_tests + 1] = { name = name, fn = fn }
end

-- request{ action=, params=, requester=, groups={...}, justification=, targets=, now=, ... }
function request(t)
  t = t or {}
  return {
    id = t.id or "req-1", action = t.action or "device.wipe", params = t.params or {},
    requester = t.requester or "alice", groups = t.groups or {},
    justification = t.justification or "", targets = t.targets or 1,
    created = t.created or 0, expires = t.expires or 0, now = t.now or 0,
  }
end

-- device{ id=, ownership=, platform=, os_version=, groups={...}, tags={k=v} }
function device(t)
  t = t or {}
  return {
    id = t.id or "device-1", ownership = t.ownership or "unknown",
    platform = t.platform or "", os_version = t.os_version or "",
    groups = t.groups or {}, tags = t.tags or {},
  }
end

local function json(v)
  local kind = type(v)
  if kind == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif kind == "number" then
    return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v)
  elseif kind == "boolean" then
    return tostring(v)
  elseif kind == "table" then
    local out = {}
    if #v > 0 then
      for _, item in ipairs(v) do out[#out + 1] = json(item) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    for k, item in pairs(v) do out[#out + 1] = json(tostring(k)) .. ":" .. json(item) end
    table.sort(out)
    return "{" .. table.concat(out, ",") .. "}"
  end
  error("cannot send a " .. kind .. " as params", 3)
end

local function evaluate(req, dev)
  local flat = {}
  for k, v in pairs(req) do flat[k] = v end
  flat.params_json = json(req.params)
  return _keyturn_evaluate(flat, dev)
end

local function describe(d)
  if d.status ~= "ok" then return d.status .. " (" .. d.detail .. ")" end
  local parts = {}
  for _, o in ipairs(d.outcomes) do
    if o.kind == "requirement" then
      parts[#parts + 1] = o.approvals .. " from " .. o.group
    else
      parts[#parts + 1] = o.kind
    end
  end
  return "ok: " .. (#parts > 0 and table.concat(parts, ", ") or "no policy matched")
end

-- Level 3 points the failure at the line of the test that called expect_*.
local function fail(what, d) error("expected " .. what .. ", got " .. describe(d), 3) end

function expect_approvals(req, dev, n, group)
  local d = evaluate(req, dev)
  local o = d.outcomes[1]
  if d.status ~= "ok" or #d.outcomes ~= 1 or o.kind ~= "requirement" or o.approvals ~= n
      or o.group ~= group then
    fail(n .. " from " .. group, d)
  end
end

function expect_deny(req, dev, reason)
  local d = evaluate(req, dev)
  if d.status ~= "policy_denied" or (reason and not d.detail:find(reason, 1, true)) then
    fail("a deny" .. (reason and (" containing '" .. reason .. "'") or ""), d)
  end
end

function expect_unprotected(req, dev)
  local d = evaluate(req, dev)
  for _, o in ipairs(d.outcomes) do
    if o.kind ~= "unprotected" then fail("unprotected", d) end
  end
  if d.status ~= "ok" then fail("unprotected", d) end
end
)lua";

}  // namespace keyturn::policykit
