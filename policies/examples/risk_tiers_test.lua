-- Unit tests for examples/risk_tiers.lua.

test("lock < restart < retire < wipe", function()
  expect_approvals(request{ action = "device.lock" }, device{}, 0, "device-approvers")
  expect_approvals(request{ action = "device.restart" }, device{}, 1, "device-approvers")
  expect_approvals(request{ action = "device.retire" }, device{}, 2, "device-approvers")
  expect_approvals(request{ action = "device.wipe" }, device{}, 3, "device-approvers")
end)

test("an unknown device action gets the highest tier", function()
  expect_approvals(request{ action = "device.firmware.flash" }, device{}, 3, "device-approvers")
end)
