-- byod_stricter.lua: an ADDITIONAL policy for organisations where any action on a
-- personally owned device (BYOD) must be agreed by a privacy officer, whatever the
-- action's own policy says. Because every matching policy must be satisfied, adding
-- this file is enough: it stacks a privacy-officers requirement on top of the others.
--
-- Devices of unknown ownership count as personal (the stricter reading). Wiping a
-- personal device is denied outright unless the request says why: the justification is
-- what the privacy officer reviews.
return {
  name = "byod-stricter",
  actions = { "device.*", "script.*", "app.*" },

  evaluate = function(req, device)
    if device.ownership == "corporate" then
      return nil
    end
    if req.action == "device.wipe" and req.justification == "" then
      return { deny = "wiping a personal device needs a justification" }
    end
    return { approvals = 1, group = "privacy-officers" }
  end,
}
