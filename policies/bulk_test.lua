-- Unit tests for bulk.lua.

test("ten targets are not a bulk request", function()
  expect_unprotected(request{ action = "device.wipe", targets = 10 }, device{})
end)

test("eleven targets need two maa-admins", function()
  expect_approvals(request{ action = "device.wipe", targets = 11 }, device{}, 2, "maa-admins")
end)

test("every action family counts", function()
  expect_approvals(request{ action = "script.run", targets = 500 }, device{}, 2, "maa-admins")
  expect_approvals(request{ action = "app.install", targets = 500 }, device{}, 2, "maa-admins")
  expect_approvals(request{ action = "device.lock", targets = 500 }, device{}, 2, "maa-admins")
end)
