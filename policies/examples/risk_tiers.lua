-- risk_tiers.lua: one policy that ranks device actions by how much harm a mistake does
-- and asks for more device-approvers the riskier the action:
--
--   device.lock     0  reversible, protective
--   device.restart  1  interrupts work
--   device.retire   2  removes managed data and the enrollment
--   device.wipe     3  destroys everything
--
-- An action of the family this table does not know (a new one added later) gets the
-- highest tier: a policy should fail towards more approvals, not fewer.
local kTiers = {
  ["device.lock"] = 0,
  ["device.restart"] = 1,
  ["device.retire"] = 2,
  ["device.wipe"] = 3,
}
local kUnknownTier = 3

return {
  name = "risk-tiers",
  actions = { "device.*" },

  evaluate = function(req, device)
    local tier = kTiers[req.action] or kUnknownTier
    return { approvals = tier, group = "device-approvers" }
  end,
}
