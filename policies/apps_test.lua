-- Unit tests for apps.lua.

test("installing from apt needs one app-approver", function()
  expect_approvals(request{ action = "app.install",
                            params = { name = "htop", version = "3.2.2", source = "apt" } },
                   device{ ownership = "corporate" }, 1, "app-approvers")
end)

test("installing an artifact needs one app-approver", function()
  expect_approvals(request{ action = "app.install",
                            params = { name = "tool", source = "artifact",
                                       sha256 = string.rep("a", 64), size = 1024 } },
                   device{ ownership = "personal" }, 1, "app-approvers")
end)

test("uninstalling needs one app-approver", function()
  expect_approvals(request{ action = "app.uninstall", params = { name = "htop" } },
                   device{}, 1, "app-approvers")
end)
