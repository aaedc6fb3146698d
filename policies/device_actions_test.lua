-- Unit tests for device_actions.lua (run by keyturn_policy_tests through the real engine).

test("wiping a corporate device needs one device-approver", function()
  expect_approvals(request{ action = "device.wipe", params = { mode = "full" } },
                   device{ ownership = "corporate" }, 1, "device-approvers")
end)

test("wiping a personal device needs two hr-wipe-approvers", function()
  expect_approvals(request{ action = "device.wipe", params = { mode = "full" } },
                   device{ ownership = "personal" }, 2, "hr-wipe-approvers")
end)

test("a device of unknown ownership is wiped under the personal rule", function()
  expect_approvals(request{ action = "device.wipe" }, device{}, 2, "hr-wipe-approvers")
end)

test("retiring follows the wipe rules", function()
  expect_approvals(request{ action = "device.retire" }, device{ ownership = "corporate" },
                   1, "device-approvers")
  expect_approvals(request{ action = "device.retire" }, device{ ownership = "personal" },
                   2, "hr-wipe-approvers")
end)

test("restarting needs one device-approver whatever the ownership", function()
  expect_approvals(request{ action = "device.restart", params = { delay_s = 0 } },
                   device{ ownership = "personal" }, 1, "device-approvers")
end)

test("locking is not protected", function()
  expect_unprotected(request{ action = "device.lock", params = { message = "call IT" } },
                     device{ ownership = "corporate" })
end)

test("other actions are not this policy's business", function()
  expect_unprotected(request{ action = "script.run" }, device{ ownership = "personal" })
end)
