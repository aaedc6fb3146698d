-- Unit tests for examples/break_glass.lua.

test("break-glass may wipe a corporate device without approval", function()
  expect_unprotected(request{ action = "device.wipe", groups = { "break-glass" } },
                     device{ ownership = "corporate" })
end)

test("break-glass does not lift the rule for personal devices", function()
  expect_approvals(request{ action = "device.wipe", groups = { "break-glass" } },
                   device{ ownership = "personal" }, 2, "hr-wipe-approvers")
  expect_approvals(request{ action = "device.wipe", groups = { "break-glass" } },
                   device{}, 2, "hr-wipe-approvers")
end)

test("everyone else still needs a device-approver", function()
  expect_approvals(request{ action = "device.wipe", groups = { "helpdesk" } },
                   device{ ownership = "corporate" }, 1, "device-approvers")
  expect_approvals(request{ action = "device.restart" }, device{ ownership = "corporate" },
                   1, "device-approvers")
end)

test("break-glass may restart a corporate device without approval", function()
  expect_unprotected(request{ action = "device.restart", groups = { "break-glass" } },
                     device{ ownership = "corporate" })
end)
