test("an IT requester needs a security approver", function()
  expect_approvals(request{ action = "device.wipe", groups = { "it-ops" } }, device{ ownership = "corporate" },
                   1, "security-approvers")
end)

test("a security requester needs an IT approver", function()
  expect_approvals(request{ action = "script.run", groups = { "security" } }, device{}, 1, "it-approvers")
end)

test("someone in both departments still needs security", function()
  expect_approvals(request{ action = "device.wipe", groups = { "security", "it-ops" } }, device{},
                   1, "security-approvers")
end)

test("locking is not this policy's business", function()
  expect_unprotected(request{ action = "device.lock", groups = { "it-ops" } }, device{})
end)
