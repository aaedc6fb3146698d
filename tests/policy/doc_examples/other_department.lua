-- other_department.lua (docs/policies.md, "a second approval from another department"):
-- on top of device_actions.lua, a wipe or a script needs one approval from a
-- department the requester does not belong to. IT staff get a security approver, the
-- security team gets an IT approver; anyone else gets security.
--
-- Keyturn counts one approver toward every requirement whose group they are in, so this
-- only means "a different person" when security-approvers and device-approvers have no
-- member in common: keep the roster's groups disjoint (`keyturn bundle show` lists them).
return {
  name = "other-department",
  actions = { "device.wipe", "script.run" },

  evaluate = function(req, device)
    local groups = req.requester.groups
    if groups["security"] and not groups["it-ops"] then
      return { approvals = 1, group = "it-approvers" }
    end
    return { approvals = 1, group = "security-approvers" }
  end,
}
