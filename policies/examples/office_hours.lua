-- office_hours.lua: no wipes outside office hours, when nobody is around to notice a
-- mistake or an attacker. It denies rather than asking for more approvals: a denied
-- request can be made again in the morning (or by a break-glass bundle update).
--
-- Times are UTC: req.now is Unix time (seconds) and policies have no `os.date` or time
-- zone data. Office hours here are Monday to Friday, 07:00 to 18:00 UTC; shift
-- kStartHour/kEndHour for your offices (e.g. 07..16 UTC is 08..17 in Berlin in winter).
local kStartHour = 7   -- first hour that is inside office hours
local kEndHour = 18    -- first hour that is outside again

-- 1970-01-01 was a Thursday; returns 0 for Sunday .. 6 for Saturday.
local function weekday(unixSeconds)
  return (unixSeconds // 86400 + 4) % 7
end

local function hour(unixSeconds)
  return (unixSeconds % 86400) // 3600
end

return {
  name = "office-hours",
  actions = { "device.wipe" },

  evaluate = function(req, device)
    local day, h = weekday(req.now), hour(req.now)
    if day == 0 or day == 6 then
      return { deny = "device.wipe is not allowed at weekends (UTC)" }
    end
    if h < kStartHour or h >= kEndHour then
      return { deny = "device.wipe is only allowed 07:00-18:00 UTC" }
    end
    return nil
  end,
}
