-- apps.lua: installing or removing software changes what runs on the device, so one
-- person from app-approvers must agree. Raise `approvals` for artifact installs
-- (params.source == "artifact", a binary nobody packaged) if your team wants that.
return {
  name = "apps",
  actions = { "app.install", "app.uninstall" },

  evaluate = function(req, device)
    return { approvals = 1, group = "app-approvers" }
  end,
}
