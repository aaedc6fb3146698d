-- Unit tests for examples/office_hours.lua. 1764547200 is Monday 2025-12-01 00:00 UTC.
local kMonday = 1764547200
local kHour = 3600
local kDay = 86400

test("a wipe on Monday at 10:00 UTC is allowed", function()
  expect_unprotected(request{ action = "device.wipe", now = kMonday + 10 * kHour }, device{})
end)

test("the office day is 07:00 to 18:00 UTC", function()
  expect_unprotected(request{ action = "device.wipe", now = kMonday + 7 * kHour }, device{})
  expect_deny(request{ action = "device.wipe", now = kMonday + 7 * kHour - 1 }, device{},
              "07:00-18:00 UTC")
  expect_deny(request{ action = "device.wipe", now = kMonday + 18 * kHour }, device{},
              "07:00-18:00 UTC")
end)

test("a wipe on Saturday or Sunday is denied", function()
  expect_deny(request{ action = "device.wipe", now = kMonday + 5 * kDay + 10 * kHour }, device{},
              "weekends")
  expect_deny(request{ action = "device.wipe", now = kMonday - kDay + 10 * kHour }, device{},
              "weekends")
end)

test("Friday is a working day", function()
  expect_unprotected(request{ action = "device.wipe", now = kMonday + 4 * kDay + 12 * kHour },
                     device{})
end)

test("other actions are not restricted", function()
  expect_unprotected(request{ action = "device.lock", now = kMonday - kDay }, device{})
end)
