-- bulk.lua: one request that reaches many devices at once is a fleet-wide event, so it
-- needs two approvals from maa-admins on top of whatever the action's own policy asks
-- for (every matching policy is satisfied separately).
--
-- Policies match exact action names or "prefix.*", not "*", so the action families are
-- listed one by one: add a family here when Keyturn gains one.
local kMaxTargetsWithoutAdmins = 10

return {
  name = "bulk",
  actions = { "device.*", "script.*", "app.*" },

  evaluate = function(req, device)
    if req.targets.count > kMaxTargetsWithoutAdmins then
      return { approvals = 2, group = "maa-admins" }
    end
    return nil
  end,
}
