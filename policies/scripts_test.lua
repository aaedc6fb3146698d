-- Unit tests for scripts.lua.

local script = {
  interpreter = "sh", body = "uptime", sha256 = string.rep("0", 64), timeout_s = 300,
}

test("a script on a corporate device needs one script-approver", function()
  expect_approvals(request{ action = "script.run", params = script, justification = "INC-42" },
                   device{ ownership = "corporate" }, 1, "script-approvers")
end)

test("a script on a personal or unknown device needs two script-approvers", function()
  expect_approvals(request{ action = "script.run", params = script, justification = "INC-42" },
                   device{ ownership = "personal" }, 2, "script-approvers")
  expect_approvals(request{ action = "script.run", params = script, justification = "INC-42" },
                   device{}, 2, "script-approvers")
end)

test("a script without a justification is denied", function()
  expect_deny(request{ action = "script.run", params = script }, device{ ownership = "corporate" },
              "needs a justification")
end)
