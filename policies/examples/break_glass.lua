-- break_glass.lua: a REPLACEMENT for device_actions.lua that lets members of the
-- `break-glass` group act on corporate devices without waiting for approvals (an
-- incident at 3 a.m.). Ship it instead of device_actions.lua, not next to it:
--
-- In Keyturn every policy whose `actions` match must be satisfied separately. A second
-- policy that returns nil for break-glass requesters would not lift device_actions.lua's
-- requirement; the exception has to live in the policy that makes the requirement.
--
-- What break-glass does NOT skip: personal devices (HR rules still apply), bulk.lua's
-- requirement for more than ten targets, and the signatures of requester, completer and
-- issuer — every break-glass use is still in the audit log.
return {
  name = "device-actions-break-glass",
  actions = { "device.wipe", "device.retire", "device.restart", "device.lock" },

  evaluate = function(req, device)
    local action = req.action
    local breakGlass = req.requester.groups["break-glass"] and device.ownership == "corporate"

    if action == "device.wipe" or action == "device.retire" then
      if breakGlass then return nil end
      if device.ownership == "corporate" then
        return { approvals = 1, group = "device-approvers" }
      end
      return { approvals = 2, group = "hr-wipe-approvers" }
    end

    if action == "device.restart" then
      if breakGlass then return nil end
      return { approvals = 1, group = "device-approvers" }
    end

    return nil  -- device.lock
  end,
}
