-- device_actions.lua: who must approve an action on a whole device.
--
--   device.wipe, device.retire  destroy data or the agent's enrollment: one approval
--                               from device-approvers on corporate devices; two from
--                               hr-wipe-approvers on personal (BYOD) devices, because
--                               wiping someone's own phone or laptop is an HR and legal
--                               matter. A device whose ownership is "unknown" is treated
--                               as personal: when in doubt, take the stricter rule.
--   device.restart              interrupts a user's work: one device-approver.
--   device.lock                 unprotected: locking is the first, reversible response to
--                               a lost or stolen device and must not wait for a second
--                               person. The requester, completer and issuer still sign.
--
-- Every policy whose `actions` match must be satisfied, so bulk.lua adds its own
-- requirement on top of these when a request targets many devices.
return {
  name = "device-actions",
  actions = { "device.wipe", "device.retire", "device.restart", "device.lock" },

  evaluate = function(req, device)
    local action = req.action

    if action == "device.wipe" or action == "device.retire" then
      if device.ownership == "corporate" then
        return { approvals = 1, group = "device-approvers" }
      end
      -- "personal" and "unknown"
      return { approvals = 2, group = "hr-wipe-approvers" }
    end

    if action == "device.restart" then
      return { approvals = 1, group = "device-approvers" }
    end

    -- device.lock
    return nil
  end,
}
