-- Unit tests for examples/byod_stricter.lua.

test("corporate devices are left to the other policies", function()
  expect_unprotected(request{ action = "device.wipe" }, device{ ownership = "corporate" })
end)

test("any action on a personal device needs a privacy officer", function()
  expect_approvals(request{ action = "app.install", params = { name = "htop", source = "apt" } },
                   device{ ownership = "personal" }, 1, "privacy-officers")
  expect_approvals(request{ action = "device.lock" }, device{}, 1, "privacy-officers")
end)

test("a personal wipe without a justification is denied", function()
  expect_deny(request{ action = "device.wipe" }, device{ ownership = "personal" },
              "needs a justification")
end)

test("a justified personal wipe needs a privacy officer", function()
  expect_approvals(request{ action = "device.wipe", justification = "employee left, INC-7" },
                   device{ ownership = "personal" }, 1, "privacy-officers")
end)
