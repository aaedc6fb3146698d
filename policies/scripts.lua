-- scripts.lua: running a script is the most powerful action there is (arbitrary code as
-- the agent's user), so every run needs a person from script-approvers to have read it.
--
--   * one approval from script-approvers;
--   * two on personal devices (and devices of unknown ownership): a script there can
--     read private data;
--   * a run without a justification is denied outright: approvers must be told why.
return {
  name = "scripts",
  actions = { "script.run" },

  evaluate = function(req, device)
    if req.justification == "" then
      return { deny = "script.run needs a justification" }
    end
    if device.ownership ~= "corporate" then
      return { approvals = 2, group = "script-approvers" }
    end
    return { approvals = 1, group = "script-approvers" }
  end,
}
